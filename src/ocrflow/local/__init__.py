"""The local stack: the same CDK app deployed into an AWS emulator on 127.0.0.1 (ministack), for `make demo`
and the end-to-end tests. Needs a repository checkout and the tools `make local-tools` installs."""
