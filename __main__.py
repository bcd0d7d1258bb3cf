"""alloy-users: keep the users of an Alloy account equal to users.yaml."""

from providers.program import main

main()
