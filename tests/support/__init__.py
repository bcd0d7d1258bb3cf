"""What the tests share: the real-CLI harness (``pulumi_harness``), the
shared manifests, the emulator fixtures, in-process doubles of the API
(``scripted_api``, ``fake_alloy``), a local proxy, free ports and the
command-line runners (``cli``)."""
