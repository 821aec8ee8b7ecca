"""`python -m analytics_sandbox`."""

from analytics_sandbox.cli import main

main()
