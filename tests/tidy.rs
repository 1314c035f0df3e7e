//! Repository hygiene: docs that must not drift from the code.

use hark_tests::workspace_root;

/// Every workspace member appears in docs/architecture.md's code map.
#[test]
fn architecture_doc_maps_every_crate() {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let doc =
        std::fs::read_to_string(root.join("docs/architecture.md")).expect("docs/architecture.md");
    let members: Vec<&str> = manifest
        .split("members = [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .collect();
    assert!(members.len() > 4, "{members:?}");
    let missing: Vec<_> = members
        .iter()
        .filter(|m| !doc.contains(&format!("`{m}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md's code map does not mention: {missing:?}"
    );
}

/// Every Rust source file starts with a `//!` module doc saying what it is for.
#[test]
fn every_source_file_has_a_module_doc() {
    let root = workspace_root();
    let mut missing = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if !text.trim_start().starts_with("//!") {
                    missing.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "files without a `//!` module doc: {missing:?}"
    );
}

/// FNV-1a over the plugin-api sources (paths and contents, sorted).
fn plugin_api_source_hash() -> String {
    let dir = workspace_root().join("plugin-api/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("\r\n", "\n");
        for byte in name.bytes().chain(text.bytes()) {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The ABI cannot change without docs/abi.md (and so a decision about the
/// version number) changing with it.
#[test]
fn abi_changes_are_recorded_in_docs_abi() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("docs/abi.md")).unwrap();
    let manifest = std::fs::read_to_string(root.join("plugin-api/Cargo.toml")).unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    let hash = plugin_api_source_hash();
    assert!(
        doc.contains(&format!("Current ABI version: **{version}**")),
        "docs/abi.md must state `Current ABI version: **{version}**`"
    );
    assert!(
        doc.contains(&format!("plugin-api source hash: `{hash}`")),
        "plugin-api/src changed. Decide with docs/abi.md whether the change is compatible \
         (fields added below a last_prefix_field marker: bump the minor version) or not \
         (bump the major version), update plugin-api/Cargo.toml and docs/abi.md, and record \
         `plugin-api source hash: `{hash}`` there"
    );
}

/// Dependencies point one way: plugins depend on the sdk only (never on the
/// host or the raw ABI crate), the sdk never on the host, the ABI crate on
/// abi_stable only.
#[test]
fn crate_dependencies_point_one_way() {
    let root = workspace_root();
    let dependencies = |manifest: &str| -> Vec<String> {
        let text = std::fs::read_to_string(root.join(manifest)).unwrap();
        let section = text.split("[dependencies]").nth(1).unwrap_or("");
        let section = section.split("\n[").next().unwrap();
        section
            .lines()
            .filter_map(|l| l.split(['=', '.']).next())
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty() && !name.starts_with('#'))
            .collect()
    };
    assert_eq!(dependencies("plugin-api/Cargo.toml"), ["abi_stable"]);
    let sdk = dependencies("sdk/Cargo.toml");
    assert!(
        !sdk.contains(&"hark".to_string()),
        "sdk depends on the host: {sdk:?}"
    );
    for entry in std::fs::read_dir(root.join("plugins")).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = dir.join("Cargo.toml");
        let relative = manifest.strip_prefix(&root).unwrap().display().to_string();
        let deps = dependencies(&relative);
        assert!(
            deps.contains(&"hark-sdk".to_string()),
            "{relative} must depend on hark-sdk"
        );
        for forbidden in ["hark", "hark-plugin-api", "abi_stable"] {
            assert!(
                !deps.contains(&forbidden.to_string()),
                "{relative} depends on {forbidden}: plugins use hark-sdk only"
            );
        }
    }
}

/// The `[profile.dev.package."*"]` settings of a Cargo.toml, comments and
/// blank lines left out.
fn dependency_profile(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|l| l.trim() != r#"[profile.dev.package."*"]"#)
        .skip(1)
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The fixtures built outside the workspace share its target directory;
/// with other profile settings for dependencies, each would rebuild all of
/// them (tract included: ten minutes of CI per fixture).
#[test]
fn excluded_fixtures_build_dependencies_like_the_workspace() {
    let root = workspace_root();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let workspace = dependency_profile(&read("Cargo.toml"));
    assert!(!workspace.is_empty());
    for fixture in [
        "tests/fixtures/altered-abi-plugin/Cargo.toml",
        "tests/fixtures/extended-abi/Cargo.toml",
    ] {
        assert_eq!(dependency_profile(&read(fixture)), workspace, "{fixture}");
    }
}

/// Each registry package with the features `cargo tree` resolves for it
/// (one line per package and unit, e.g. `serde v1.0.229 [default,std]`),
/// following `edges` (`normal`: what the crates link, one line per
/// package; `normal,build`: build scripts' dependencies too).
fn resolved_features(edges: &str, args: &[&str]) -> std::collections::BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(workspace_root())
        .args(["tree", "--offline", "-e", edges, "--prefix", "none"])
        .args(["-f", "{p} [{f}]"])
        .args(args)
        .output()
        .expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.trim_end_matches(" (*)").to_string())
        // Path packages (the workspace's own) rebuild anyway.
        .filter(|l| !l.contains(" (/"))
        .collect()
}

/// The fixtures built outside the workspace reuse its builds of shared
/// dependencies only if cargo resolves the same features for them; one
/// feature fewer on `matrixmultiply` rebuilds all of tract (minutes of
/// CI). Their manifests ask for what the workspace's other members turn
/// on.
#[test]
fn excluded_fixtures_resolve_features_like_the_workspace() {
    let root = workspace_root();
    let edges = ["normal", "normal,build"];
    let workspace = edges.map(|e| resolved_features(e, &["--workspace"]));
    for fixture in ["altered-abi-plugin", "extended-abi"] {
        let dir = root.join("tests/fixtures").join(fixture);
        // As `build_fixture_crate` does: the workspace's lockfile.
        std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let manifest = dir.join("Cargo.toml").display().to_string();
        let mut differing = std::collections::BTreeSet::new();
        for (e, workspace) in edges.iter().zip(&workspace) {
            let own = resolved_features(e, &["--manifest-path", &manifest]);
            differing.extend(own.difference(workspace).cloned());
        }
        let differing: Vec<String> = differing.into_iter().collect();
        assert!(
            differing.is_empty(),
            "tests/fixtures/{fixture} resolves other features than the workspace for these \
             packages (the workspace's are in `cargo tree --workspace -e normal,build -f '{{p}} [{{f}}]'`); \
             ask for the workspace's features in its Cargo.toml:\n{}",
            differing.join("\n")
        );
    }
}

/// Every first-party plugin has the shape docs/plugin-guide.md describes
/// ("The shape of a plugin"): `src/lib.rs` declares modules and exports;
/// each kind listed in `export_plugin!` lives in `src/<kind>/`, whose
/// `mod.rs` implements `NodeKind` and whose `imp.rs` holds the running
/// node, unless the kind runs a node the plugin's kinds share (named in a
/// plugin-level module).
#[test]
fn every_plugin_has_the_documented_shape() {
    let root = workspace_root();
    let mut problems = Vec::new();
    let mut kinds_seen = 0;
    for entry in std::fs::read_dir(root.join("plugins")).unwrap().flatten() {
        let src = entry.path().join("src");
        let Ok(lib) = std::fs::read_to_string(src.join("lib.rs")) else {
            continue;
        };
        let plugin = entry.file_name().to_string_lossy().into_owned();
        for forbidden in ["impl NodeKind for", "impl Node for"] {
            if lib.contains(forbidden) {
                problems.push(format!(
                    "{plugin}: src/lib.rs has `{forbidden}`: kinds live in src/<kind>/"
                ));
            }
        }
        let Some(list) = lib
            .split("kinds: [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
        else {
            problems.push(format!(
                "{plugin}: src/lib.rs has no `export_plugin!` kinds list"
            ));
            continue;
        };
        for kind in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            kinds_seen += 1;
            let Some((module, marker)) = kind.split_once("::") else {
                problems.push(format!("{plugin}: `{kind}` is not `<kind module>::<Type>`"));
                continue;
            };
            let dir = src.join(module);
            let Ok(declaration) = std::fs::read_to_string(dir.join("mod.rs")) else {
                problems.push(format!("{plugin}: no src/{module}/mod.rs for `{kind}`"));
                continue;
            };
            if !declaration.contains(&format!("impl NodeKind for {marker} ")) {
                problems.push(format!(
                    "{plugin}: src/{module}/mod.rs does not implement NodeKind for {marker}"
                ));
            }
            if declaration.contains("impl Node for") {
                problems.push(format!(
                    "{plugin}: src/{module}/mod.rs runs a node: that goes in imp.rs"
                ));
            }
            if dir.join("imp.rs").exists() {
                continue;
            }
            // No imp.rs: the node must be one the plugin's kinds share.
            let instance = declaration
                .split("type Instance = ")
                .nth(1)
                .and_then(|rest| rest.split([';', '<']).next())
                .unwrap_or("?")
                .trim()
                .to_string();
            let shared = std::fs::read_dir(&src).unwrap().flatten().any(|f| {
                f.path().extension().is_some_and(|e| e == "rs")
                    && std::fs::read_to_string(f.path())
                        .is_ok_and(|t| t.contains(&format!("pub struct {instance} ")))
            });
            if !shared {
                problems.push(format!(
                    "{plugin}: src/{module}/ has no imp.rs, and its node `{instance}` is not one the plugin's kinds share"
                ));
            }
        }
    }
    assert!(
        kinds_seen >= 30,
        "only {kinds_seen} kinds found: is the parsing right?"
    );
    assert!(
        problems.is_empty(),
        "plugins out of shape:\n{}",
        problems.join("\n")
    );
}
