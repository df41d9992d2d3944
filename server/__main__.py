"""`python -m server`: the `capsule` command."""

from server.launch import main

raise SystemExit(main())
