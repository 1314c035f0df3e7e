//! `hark new plugin NAME`: a plugin crate of one's own, ready to build,
//! test and run, from the templates in `sdk/template/`.
//!
//! The crate depends on the sdk by path (the sdk of the Hark source tree
//! this binary was built from, or `--sdk`); it is its own Cargo workspace
//! and starts from this tree's `Cargo.lock`, so it builds with the same
//! dependency versions as the host it will be loaded into.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

/// `hark new` subcommands.
#[derive(Subcommand, Debug)]
pub enum NewCommand {
    /// Create a plugin crate (a node kind, a unit test, a README and a
    /// pipeline) in directory NAME.
    Plugin {
        /// The plugin's name (lower case, digits and `-`): the crate's
        /// name and what pipelines write as `plugin: "NAME"`.
        name: String,
        /// What its node does.
        #[arg(long, value_enum, default_value_t = Role::Transform)]
        kind: Role,
        /// Where to create the crate (default: ./NAME).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The Hark sdk to depend on (default: the sdk of the source tree
        /// this `hark` was built from; also HARK_SDK).
        #[arg(long, value_name = "PATH", env = "HARK_SDK")]
        sdk: Option<PathBuf>,
    },
}

/// The role of the scaffolded node.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Role {
    /// Produces messages (no inputs): a numbered text, a few times.
    Source,
    /// Input to output: upper-cases text and adds a suffix.
    Transform,
    /// Consumes messages: counts and prints words.
    Sink,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Transform => "transform",
            Role::Sink => "sink",
        }
    }
}

/// A template file: where it goes in the crate, and its text.
type TemplateFile = (&'static str, &'static str);

const COMMON: [TemplateFile; 4] = [
    (
        "Cargo.toml",
        include_str!("../../../sdk/template/Cargo.toml.in"),
    ),
    (
        "README.md",
        include_str!("../../../sdk/template/README.md.in"),
    ),
    (
        ".gitignore",
        include_str!("../../../sdk/template/gitignore.in"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../sdk/template/src/lib.rs.in"),
    ),
];

fn role_files(role: Role) -> [TemplateFile; 4] {
    match role {
        Role::Source => [
            (
                "src/{{crate}}/mod.rs",
                include_str!("../../../sdk/template/source/mod.rs.in"),
            ),
            (
                "src/{{crate}}/imp.rs",
                include_str!("../../../sdk/template/source/imp.rs.in"),
            ),
            (
                "tests/node.rs",
                include_str!("../../../sdk/template/source/test.rs.in"),
            ),
            (
                "pipeline.ron",
                include_str!("../../../sdk/template/source/pipeline.ron.in"),
            ),
        ],
        Role::Transform => [
            (
                "src/{{crate}}/mod.rs",
                include_str!("../../../sdk/template/transform/mod.rs.in"),
            ),
            (
                "src/{{crate}}/imp.rs",
                include_str!("../../../sdk/template/transform/imp.rs.in"),
            ),
            (
                "tests/node.rs",
                include_str!("../../../sdk/template/transform/test.rs.in"),
            ),
            (
                "pipeline.ron",
                include_str!("../../../sdk/template/transform/pipeline.ron.in"),
            ),
        ],
        Role::Sink => [
            (
                "src/{{crate}}/mod.rs",
                include_str!("../../../sdk/template/sink/mod.rs.in"),
            ),
            (
                "src/{{crate}}/imp.rs",
                include_str!("../../../sdk/template/sink/imp.rs.in"),
            ),
            (
                "tests/node.rs",
                include_str!("../../../sdk/template/sink/test.rs.in"),
            ),
            (
                "pipeline.ron",
                include_str!("../../../sdk/template/sink/pipeline.ron.in"),
            ),
        ],
    }
}

/// Runs `hark new`; returns the exit code.
pub fn main(command: NewCommand) -> i32 {
    let NewCommand::Plugin {
        name,
        kind,
        dir,
        sdk,
    } = command;
    match new_plugin(&name, kind, dir.as_deref(), sdk.as_deref()) {
        Ok(dir) => {
            let shown = dir.display();
            let run = run_example(kind);
            println!(
                "Created the {} plugin `{name}` in {shown}. Next:\n",
                kind.name()
            );
            println!("  cd {shown}");
            println!("  cargo test");
            println!("  cargo build");
            println!("  hark plugins --plugin-path target/debug {name}");
            println!("  {run}");
            0
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("hint: {hint}");
            }
            2
        }
    }
}

/// A failure, with what to do about it.
#[derive(Debug)]
pub struct NewError {
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl NewError {
    fn new(message: impl Into<String>) -> Self {
        NewError {
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Creates the plugin crate; returns its directory.
pub fn new_plugin(
    name: &str,
    role: Role,
    dir: Option<&Path>,
    sdk: Option<&Path>,
) -> Result<PathBuf, NewError> {
    check_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(
            NewError::new(format!("{} already exists and is not empty", dir.display()))
                .hint("choose another name, or --dir for another place"),
        );
    }
    let sdk = find_sdk(sdk)?;

    let crate_name = name.replace('-', "_");
    let type_name: String = name
        .split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let description = match role {
        Role::Source => "A Hark source: emits a numbered text a few times",
        Role::Transform => "A Hark transform: upper-cases text and adds a suffix",
        Role::Sink => "A Hark sink: counts and prints the words of every text",
    };
    let sdk_dependency = format!("{{ path = {:?} }}", sdk.to_string_lossy());
    let run_example = run_example(role);
    let values = [
        ("{{name}}", name),
        ("{{crate}}", crate_name.as_str()),
        ("{{Type}}", type_name.as_str()),
        ("{{role}}", role.name()),
        ("{{description}}", description),
        ("{{sdk}}", sdk_dependency.as_str()),
        ("{{run_example}}", run_example.as_str()),
    ];

    let write = |relative: &str, text: &str| -> Result<(), NewError> {
        let path = dir.join(relative);
        let parent = path.parent().expect("a file in the crate");
        std::fs::create_dir_all(parent)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|e| NewError::new(format!("writing {}: {e}", path.display())))
    };
    let fill = |template: &str| {
        values
            .iter()
            .fold(template.to_string(), |text, (key, value)| {
                text.replace(key, value)
            })
    };
    for (relative, template) in COMMON.iter().chain(role_files(role).iter()) {
        let (relative, text) = (fill(relative), fill(template));
        debug_assert!(!text.contains("{{"), "{relative}: a placeholder is left");
        write(&relative, &text)?;
    }
    // Start from the host's lockfile: the same versions of abi_stable and
    // the rest as the host (cargo drops what the plugin does not use).
    if let Some(lock) = sdk.parent().map(|root| root.join("Cargo.lock")) {
        if let Ok(text) = std::fs::read_to_string(lock) {
            write("Cargo.lock", &text)?;
        }
    }
    Ok(dir)
}

/// The command that runs the scaffolded pipeline.
fn run_example(role: Role) -> String {
    match role {
        Role::Source => "hark run pipeline.ron --plugin-path target/debug".to_string(),
        Role::Transform | Role::Sink => {
            "echo \"hello plugin\" | hark run pipeline.ron --plugin-path target/debug".to_string()
        }
    }
}

/// A name is a crate name and a pipeline plugin name:
/// `[a-z][a-z0-9_-]*`, no two separators in a row, none at the end, and
/// not a crate the plugin depends on. Upper case is refused although
/// cargo takes it: the library file is named after the crate, and a
/// plugin named `Shout` next to one named `shout` would be two plugins
/// on a case-sensitive disk and one on others.
fn check_name(name: &str) -> Result<(), NewError> {
    let separator = |c: char| c == '-' || c == '_';
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || separator(c))
        && !name
            .as_bytes()
            .windows(2)
            .any(|w| separator(w[0] as char) && separator(w[1] as char))
        && !name.ends_with(separator);
    if !valid {
        return Err(NewError::new(format!("`{name}` is not a valid plugin name"))
            .hint("use lower-case letters, digits, and single dashes or underscores, starting with a letter (e.g. `word-count`)"));
    }
    const TAKEN: [&str; 7] = [
        "hark",
        "hark-sdk",
        "hark-plugin-api",
        "serde",
        "std",
        "core",
        "test",
    ];
    // Cargo reads `-` and `_` in crate names as the same.
    if TAKEN.contains(&name.replace('_', "-").as_str()) {
        return Err(
            NewError::new(format!("`{name}` is the name of a crate the plugin needs"))
                .hint("choose another name"),
        );
    }
    Ok(())
}

/// The sdk directory: `--sdk`/HARK_SDK, else the source tree's.
fn find_sdk(given: Option<&Path>) -> Result<PathBuf, NewError> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    let sdk = given.map_or(built_from, Path::to_path_buf);
    let manifest = sdk.join("Cargo.toml");
    let is_sdk = std::fs::read_to_string(&manifest)
        .map(|text| text.contains("name = \"hark-sdk\""))
        .unwrap_or(false);
    if !is_sdk {
        return Err(NewError::new(format!("no Hark sdk at {}", sdk.display()))
            .hint("pass --sdk PATH/TO/hark/sdk (the `sdk` directory of a Hark source tree)"));
    }
    sdk.canonicalize()
        .map_err(|e| NewError::new(format!("{}: {e}", sdk.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_crate_names() {
        for good in ["shout", "word-count", "a2b", "probe_echo"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "Shout", "2x", "a--b", "a_-b", "a-", "a_", "hark-sdk", "x y",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(
            check_name("hark_sdk").is_err(),
            "the sdk's crate, spelt with `_`"
        );
    }

    #[test]
    fn an_underscore_name_makes_the_same_crate_as_cargo_would() {
        let dir = tempfile::tempdir().unwrap();
        let created = new_plugin(
            "probe_echo",
            Role::Transform,
            Some(&dir.path().join("pe")),
            None,
        )
        .unwrap();
        let node = std::fs::read_to_string(created.join("src/probe_echo/mod.rs")).unwrap();
        assert!(node.contains("pub struct ProbeEcho;"), "{node}");
        let manifest = std::fs::read_to_string(created.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"probe_echo\""), "{manifest}");
    }

    #[test]
    fn every_placeholder_of_every_template_is_filled() {
        for role in [Role::Source, Role::Transform, Role::Sink] {
            let dir = tempfile::tempdir().unwrap();
            let created =
                new_plugin("word-count", role, Some(&dir.path().join("wc")), None).unwrap();
            let node = std::fs::read_to_string(created.join("src/word_count/mod.rs")).unwrap();
            assert!(node.contains("pub struct WordCount;"));
            let manifest = std::fs::read_to_string(created.join("Cargo.toml")).unwrap();
            assert!(manifest.contains("name = \"word-count\""));
            assert!(created.join("Cargo.lock").exists());
            for file in [
                "Cargo.toml",
                "README.md",
                "src/lib.rs",
                "src/word_count/mod.rs",
                "src/word_count/imp.rs",
                "tests/node.rs",
                "pipeline.ron",
            ] {
                let text = std::fs::read_to_string(created.join(file)).unwrap();
                assert!(!text.contains("{{"), "{role:?} {file}");
            }
            let again = new_plugin("word-count", role, Some(&created), None).unwrap_err();
            assert!(
                again.message.contains("already exists"),
                "{}",
                again.message
            );
        }
    }
}
