"""alloy-users: keep the users of an Alloy account equal to users.yaml."""

from providers.stack.program import main

main()
