//! The embedded interpreter: started once, with the `hark` module
//! registered; scripts loaded once per path.

use std::{
    collections::HashMap,
    ffi::CString,
    path::{Path, PathBuf},
    sync::{Mutex, Once},
};

use pyo3::{prelude::*, types::PyDict};

use crate::convert::Audio;

/// Starts CPython if needed (without its signal handlers: Ctrl-C stays
/// the host's) and registers the `hark` module.
pub fn start() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        make_libpython_global();
        Python::initialize();
        Python::attach(|py| {
            if let Err(e) = register_hark_module(py) {
                // Only possible if CPython itself is broken.
                panic!("registering the `hark` Python module: {e}");
            }
        });
    });
}

/// The host loads this plugin with its symbols private (`RTLD_LOCAL`),
/// and libpython with it; C extension modules that Python imports later
/// (`_json`, `_socket`, numpy) expect libpython's symbols to be global.
/// Reopening the already loaded libpython with `RTLD_GLOBAL` makes them so.
fn make_libpython_global() {
    // SAFETY: dladdr on the address of a libpython function, and dlopen
    // with RTLD_NOLOAD on the file it names: only changes the visibility
    // of a library that is already loaded.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let symbol = pyo3::ffi::Py_IsInitialized as *const libc::c_void;
        if libc::dladdr(symbol, &mut info) != 0 && !info.dli_fname.is_null() {
            libc::dlopen(
                info.dli_fname,
                libc::RTLD_NOW | libc::RTLD_GLOBAL | libc::RTLD_NOLOAD,
            );
        }
    }
}

fn register_hark_module(py: Python<'_>) -> PyResult<()> {
    let module = PyModule::new(py, "hark")?;
    module.add_class::<Audio>()?;
    module.add(
        "__doc__",
        "What Hark lends Python nodes: the Audio message type.",
    )?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("hark", module)?;
    Ok(())
}

/// A loaded script, kept for the life of the process (classes in it may
/// be used by several nodes).
static SCRIPTS: Mutex<Option<HashMap<PathBuf, Py<PyModule>>>> = Mutex::new(None);

/// The class `class` of the script at `path`, loading the script the
/// first time. Errors are ready for the user: a missing file, a syntax
/// error (with its line), a missing class.
pub fn class(py: Python<'_>, path: &Path, class: &str) -> Result<Py<PyAny>, String> {
    let canonical = path
        .canonicalize()
        .map_err(|e| format!("cannot open the Python script {}: {e}", path.display()))?;
    // The lock is never held while Python runs: a script's top level may
    // let another thread take the GIL, which could then wait on the lock.
    let cached = |py| {
        let scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
        scripts
            .as_ref()
            .and_then(|s| s.get(&canonical))
            .map(|m: &Py<PyModule>| m.clone_ref(py))
    };
    let module = match cached(py) {
        Some(module) => module,
        None => {
            let module = load(py, &canonical)?;
            // Another thread may have loaded it meanwhile: keep the first.
            let mut scripts = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
            scripts
                .get_or_insert_with(HashMap::new)
                .entry(canonical.clone())
                .or_insert(module)
                .clone_ref(py)
        }
    };
    let module = module.bind(py);
    let found = module.getattr(class).map_err(|_| {
        let classes: Vec<String> = module
            .dict()
            .iter()
            .filter(|(_, v)| v.is_instance_of::<pyo3::types::PyType>())
            .filter_map(|(k, _)| k.extract::<String>().ok())
            .filter(|k| !k.starts_with('_'))
            .collect();
        format!(
            "{} has no class `{class}`; it defines: {}",
            path.display(),
            if classes.is_empty() {
                "no classes".to_string()
            } else {
                classes.join(", ")
            }
        )
    })?;
    Ok(found.unbind())
}

fn load(py: Python<'_>, path: &Path) -> Result<Py<PyModule>, String> {
    let shown = path.display();
    let code = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the Python script {shown}: {e}"))?;
    // The script's directory is importable, so it can use its neighbours.
    if let Some(dir) = path.parent() {
        let sys_path = py
            .import("sys")
            .and_then(|sys| sys.getattr("path"))
            .map_err(|e| e.to_string())?;
        let dir = dir.to_string_lossy().into_owned();
        if !sys_path.contains(&dir).unwrap_or(true) {
            let _ = sys_path.call_method1("insert", (0, dir));
        }
    }
    let name = path
        .file_stem()
        .map(|s| {
            s.to_string_lossy()
                .replace(|c: char| !c.is_alphanumeric(), "_")
        })
        .unwrap_or_else(|| "script".into());
    let c = |s: &str| CString::new(s).map_err(|_| format!("{shown} contains a NUL character"));
    PyModule::from_code(py, &c(&code)?, &c(&path.to_string_lossy())?, &c(&name)?)
        .map(Bound::unbind)
        .map_err(|e| format!("loading {shown}: {}", describe_error(py, &e)))
}

/// An exception as one line ("ValueError: bad value (title.py, line 12)"),
/// located at the innermost frame of the script.
pub fn describe_error(py: Python<'_>, error: &PyErr) -> String {
    let mut text = error.to_string();
    // SyntaxError carries its own position.
    if let Ok(lineno) = error.value(py).getattr("lineno") {
        if let Ok(line) = lineno.extract::<u32>() {
            let file = error
                .value(py)
                .getattr("filename")
                .and_then(|f| f.extract::<String>())
                .unwrap_or_default();
            let file = Path::new(&file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned());
            return format!("{text} ({}, line {line})", file.unwrap_or_default());
        }
    }
    let mut traceback = error.traceback(py);
    let mut last = None;
    while let Some(tb) = traceback {
        last = Some((
            tb.getattr("tb_frame")
                .and_then(|f| f.getattr("f_code"))
                .and_then(|c| c.getattr("co_filename"))
                .and_then(|f| f.extract::<String>())
                .unwrap_or_default(),
            tb.getattr("tb_lineno")
                .and_then(|l| l.extract::<u32>())
                .unwrap_or(0),
        ));
        traceback = tb
            .getattr("tb_next")
            .ok()
            .filter(|n| !n.is_none())
            .and_then(|n| n.cast_into().ok());
    }
    if let Some((file, line)) = last {
        let file = Path::new(&file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        text.push_str(&format!(" ({}, line {line})", file.unwrap_or_default()));
    }
    text
}

/// The settings map as keyword-free constructor argument: a dict.
pub fn settings_dict<'py>(
    py: Python<'py>,
    settings: &std::collections::BTreeMap<String, ron::Value>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in settings {
        dict.set_item(key, crate::convert::ron_to_python(py, value)?)?;
    }
    Ok(dict)
}
