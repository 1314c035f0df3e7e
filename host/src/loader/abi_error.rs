//! Turning abi_stable's layout-mismatch report (~20 KB, the cause at the
//! end) into one line for the user.
//!
//! The report ends with the path from the root module to the type that
//! differs (`field_name:`/`type:` pairs after "error(s)inside:"), the
//! expected and found layouts, and the errors (`Error:` lines followed by
//! `Expected:` and `Found:` values).

/// Types that only wrap others; skipped when naming the path.
const WRAPPERS: [&str; 9] = [
    "AFunctionPointer",
    "RResult",
    "ROption",
    "RVec",
    "RArc",
    "RBox",
    "PrefixRef",
    "WithMetadata",
    "<other>",
];

fn value_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.trim().strip_prefix(key).map(str::trim)
}

/// One line naming the type that differs, how, and where it is reached
/// from, e.g. "`MessageMeta` differs (incompatible type size: expected 24,
/// found 32), reached through PluginModule.create_node → … → Message.meta".
pub fn summarize_layout_error(full: &str) -> String {
    let Some(inside) = full.rfind("error(s)inside:") else {
        return full
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
    };
    let tail = &full[inside..];
    let (path_part, rest) = tail
        .split_once("Layout of expected type:")
        .unwrap_or((tail, ""));

    // The path: (field, type) pairs.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut field = None;
    for line in path_part.lines() {
        if let Some(f) = value_after(line, "field_name:") {
            field = Some(f.to_string());
        } else if let Some(t) = value_after(line, "type:") {
            let t = t.split('<').next().unwrap_or(t).trim().to_string();
            pairs.push((field.take().unwrap_or_default(), t));
        }
    }
    let differing = pairs
        .last()
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| "a type".into());
    let mut hops = Vec::new();
    let mut owner: Option<&str> = None;
    for (field, ty) in &pairs {
        let synthetic = field.is_empty()
            || field.chars().all(|c| c.is_ascii_digit())
            || field.starts_with("param_")
            || field.starts_with("field_")
            || field.starts_with("__");
        if let (Some(o), false) = (owner, synthetic) {
            hops.push(format!("{o}.{field}"));
        }
        if !WRAPPERS.contains(&ty.as_str()) {
            owner = Some(ty);
        }
    }

    // The errors: "Error:what" then "Expected:" and "Found:" values.
    let lines: Vec<&str> = rest.lines().map(str::trim).collect();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(what) = value_after(line, "Error:") {
            let next_value = |key: &str| {
                let at = lines[i..].iter().position(|l| l.starts_with(key))?;
                lines.get(i + at + 1).map(|v| v.to_string())
            };
            match (next_value("Expected:"), next_value("Found:")) {
                (Some(e), Some(f)) => problems.push(format!("{what}: expected {e}, found {f}")),
                _ => problems.push(what.to_string()),
            }
        }
    }
    let mut summary = format!("`{differing}` differs");
    if !problems.is_empty() {
        summary.push_str(&format!(" ({})", problems.join("; ")));
    }
    if !hops.is_empty() {
        summary.push_str(&format!(", reached through {}", hops.join(" → ")));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_type_the_errors_and_the_path() {
        let report = "lots of layouts...\n2 error(s)inside:\n    <other>\n\n    field_name:0\n    type:PluginModule\n\n    field_name:create_node\n    type:AFunctionPointer\n\n    field_name:field_0\n    type:NodeBox\n\n    field_name:vtable\n    type:PrefixRef<'a, NodeVTable>\n\n    field_name:0\n    type:NodeVTable\n\n    field_name:on_message\n    type:AFunctionPointer\n\n    field_name:param_2\n    type:Message\n\n    field_name:meta\n    type:MessageMeta\n\nLayout of expected type:\n    type:MessageMeta\n    size:24\nLayout of found type:\n    type:MessageMeta\n\nError:incompatible type size\nExpected:\n    24\nFound:\n    32\n\nError:too many fields\nExpected:\n    3\nFound:\n    4\n";
        assert_eq!(
            summarize_layout_error(report),
            "`MessageMeta` differs (incompatible type size: expected 24, found 32; too many fields: expected 3, found 4), \
             reached through PluginModule.create_node → NodeBox.vtable → NodeVTable.on_message → Message.meta"
        );
    }
}
