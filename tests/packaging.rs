//! Packaging metadata agrees with Cargo.toml (version, package name, registry markers): runs
//! `packaging/check-versions`, the same check CI's `.ci/packaging` starts with.

use std::process::Command;

#[test]
fn every_packaging_file_has_the_cargo_version_and_name() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/check-versions");
    let out = Command::new("python3").arg(script).output().expect("python3 runs packaging/check-versions");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}
