//! Test Token Service tests.
