"""`python -m server`: the `capsule` command."""

from server.daemon.launch import main

raise SystemExit(main())
