//! Packaging metadata (issue 29): every manifest agrees with Cargo.toml and packaging/project.toml, server.json keeps
//! the MCP registry's semantic rules, no placeholder ships, a release refuses to run while the repository is unset,
//! the npm platform packages declare their C library, and the npm launcher picks the musl build on musl. Runs
//! `packaging/check-versions` (the same check `.ci/packaging` starts with), on the tree and on broken copies of it, so
//! each rule is seen to fail. The builds themselves (wheel tag, schemas, installs) are proven by `.ci/packaging`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?} runs: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn check_versions(root: &Path, args: &[&str]) -> Output {
    run(Command::new("python3").arg(root.join("packaging/check-versions")).args(args))
}

/// The files check-versions reads, copied into a fresh tree that a test may then break.
fn copy_of_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for rel in [
        "Cargo.toml",
        "README.md",
        "POWER.md",
        ".mcp.json",
        "mcp.json",
        ".claude-plugin/plugin.json",
        ".claude-plugin/marketplace.json",
        "packaging/check-versions",
        "packaging/project.toml",
        "packaging/server.json",
        "packaging/mcpb/manifest.json",
        "packaging/pypi/pyproject.toml",
        "packaging/pypi/README.md",
        "packaging/npm/aurora-dsql-mcp-rs/package.json",
        "packaging/npm/aurora-dsql-mcp-rs/README.md",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(Path::new(ROOT).join(rel), &to).unwrap_or_else(|e| panic!("copy {rel}: {e}"));
    }
    dir
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let before = std::fs::read_to_string(&path).unwrap();
    assert!(before.contains(from), "{rel} has no {from:?} to change");
    std::fs::write(&path, before.replacen(from, to, 1)).unwrap();
}

fn repository_is_unset() -> bool {
    std::fs::read_to_string(Path::new(ROOT).join("packaging/project.toml"))
        .unwrap()
        .lines()
        .any(|l| l.trim() == "repository = \"unset\"")
}

#[test]
fn every_packaging_file_has_the_cargo_version_and_name() {
    let out = check_versions(Path::new(ROOT), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_release_refuses_to_run_while_the_repository_is_unset() {
    let out = check_versions(Path::new(ROOT), &["--release"]);
    if repository_is_unset() {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("repository is unset"), "{}", text(&out));
    } else {
        assert!(out.status.success(), "{}", text(&out));
    }
}

#[test]
fn a_set_repository_must_appear_in_every_manifest_and_own_the_registry_name() {
    let tree = copy_of_tree();
    let root = tree.path();
    edit(
        root,
        "packaging/project.toml",
        "repository = \"unset\"",
        "repository = \"https://github.com/someone/aurora-dsql-mcp-rs\"",
    );
    let out = check_versions(root, &["--release"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    for manifest in [
        "Cargo.toml repository",
        "npm repository",
        "pyproject [project.urls] Repository",
        "server.json repository",
        "mcpb manifest repository",
        ".claude-plugin/plugin.json repository",
    ] {
        assert!(said.contains(manifest), "no complaint about {manifest}: {said}");
    }
    assert!(said.contains("not under io.github.someone"), "{said}");
}

#[test]
fn while_unset_no_manifest_may_carry_a_repository_of_its_own() {
    let tree = copy_of_tree();
    let root = tree.path();
    edit(root, "Cargo.toml", "license = ", "repository = \"https://github.com/x/y\"\nlicense = ");
    let out = check_versions(root, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "Cargo.toml repository is 'https://github.com/x/y' but packaging/project.toml's repository is unset"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn server_json_breaking_a_registry_rule_is_refused() {
    let cases: [(&str, &str, &str); 5] = [
        // a named flag described with valueHint (the positional field), and no format/placeholder left
        (
            "\"format\": \"filepath\",\n          \"placeholder\": \"/home/me/dsql-sandbox\",",
            "\"valueHint\": \"dir\",",
            "valueHint is for positional arguments",
        ),
        // a value inside the flag name
        ("\"name\": \"--pool-size\"", "\"name\": \"--pool-size <n>\"", "the flag alone"),
        // CLUSTER_ENDPOINT dropped from the first package entry only
        (
            "\"name\": \"CLUSTER_ENDPOINT\"",
            "\"name\": \"CLUSTER_ENDPOINTS\"",
            "CLUSTER_ENDPOINT (README flag table) is not listed",
        ),
        // a version range
        (
            "\"version\": \"0.1.0\",\n      \"runtimeHint\"",
            "\"version\": \"^0.1.0\",\n      \"runtimeHint\"",
            "one specific version",
        ),
        // the registry name changed in server.json only
        (
            "\"name\": \"io.github.aurora-dsql-mcp-rs/aurora-dsql-mcp-rs\"",
            "\"name\": \"io.github.other/aurora-dsql-mcp-rs\"",
            "server.json name is",
        ),
    ];
    for (from, to, complaint) in cases {
        let tree = copy_of_tree();
        edit(tree.path(), "packaging/server.json", from, to);
        let out = check_versions(tree.path(), &[]);
        assert_eq!(out.status.code(), Some(1), "{to}: {}", text(&out));
        assert!(text(&out).contains(complaint), "{to}: expected {complaint:?} in {}", text(&out));
    }
}

#[test]
fn a_placeholder_or_a_hidden_mcp_name_in_shipped_text_is_refused() {
    let tree = copy_of_tree();
    edit(tree.path(), "POWER.md", "\n", "\nClone <this repository> first.\n");
    let out = check_versions(tree.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("POWER.md:2: placeholder '<this repository>'"), "{}", text(&out));

    let tree = copy_of_tree();
    let line = "mcp-name: io.github.aurora-dsql-mcp-rs/aurora-dsql-mcp-rs\n";
    edit(tree.path(), "README.md", line, &format!("<!-- {} -->\n", line.trim()));
    let out = check_versions(tree.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("outside an HTML comment"), "{}", text(&out));
}

fn platform_package(dir: &Path, args: &[&str]) -> (Output, PathBuf) {
    let binary = dir.join("server-binary");
    std::fs::write(&binary, b"not really a server").unwrap();
    let out_dir = dir.join("npm");
    let out = run(Command::new("bash")
        .arg(Path::new(ROOT).join("packaging/npm/make-platform-package"))
        .args(&args[..2])
        .arg(&binary)
        .arg(&out_dir)
        .args(&args[2..]));
    (out, out_dir)
}

#[test]
fn npm_platform_packages_declare_their_c_library() {
    let dir = tempfile::tempdir().unwrap();
    for (args, name, libc) in [
        (&["linux", "x64", "glibc"][..], "aurora-dsql-mcp-rs-linux-x64", Some("glibc")),
        (&["linux", "arm64", "musl"][..], "aurora-dsql-mcp-rs-linux-arm64-musl", Some("musl")),
        (&["darwin", "arm64"][..], "aurora-dsql-mcp-rs-darwin-arm64", None),
    ] {
        let (out, out_dir) = platform_package(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join(name).join("package.json")).unwrap()).unwrap();
        assert_eq!(manifest["name"], name);
        assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
        match libc {
            Some(libc) => assert_eq!(manifest["libc"], serde_json::json!([libc]), "{args:?}"),
            None => assert!(manifest.get("libc").is_none(), "{args:?}: {manifest}"),
        }
    }
    // A Linux package must say which C library: npm would otherwise install a glibc binary on Alpine.
    let (out, _) = platform_package(dir.path(), &["linux", "x64"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs LIBC glibc or musl"), "{}", text(&out));
}

#[test]
fn npm_launcher_picks_the_musl_build_on_musl_and_names_the_platforms_where_there_is_none() {
    if Command::new("node").arg("--version").output().is_err() {
        // .ci/packaging installs Node and runs the same tests there; here they need Node on PATH.
        eprintln!("skipped: node is not on PATH (.ci/packaging runs `node --test packaging/npm/launcher.test.js`)");
        return;
    }
    let out = run(Command::new("node").arg("--test").arg(Path::new(ROOT).join("packaging/npm/launcher.test.js")));
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("# fail 0"), "{}", text(&out));
}
