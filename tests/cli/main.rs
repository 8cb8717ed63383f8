//! Integration tests: the real `mvc` binary in real temp git repositories.

mod harness;

mod add;
