//! Selvbetjening API tests.
