//! The settings and the node the three kinds share: a Python class
//! instance, called with the GIL held.

use std::{collections::BTreeMap, path::Path};

use hark_sdk::{prelude::*, ConfigIssue};
use pyo3::prelude::*;

use crate::{convert, interpreter};

/// Settings shared by the three kinds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PySettings {
    /// The Python file (relative to the working directory).
    pub script: String,
    /// The class in it.
    pub class: String,
    /// Given to the class's constructor as a dict.
    pub settings: BTreeMap<String, ron::Value>,
}

impl Settings for PySettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::path("script", "the Python file defining the node's class").required(),
            Field::string("class", "the class; built as Class(settings)").required(),
            Field::ron(
                "settings",
                "{string: value}",
                "passed to the class's constructor as a dict",
            ),
        ]
    }

    /// Loads the script (it runs its top level, as an import does), so
    /// that `hark check` reports a missing file, a syntax error or a
    /// missing class at the offending field.
    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.script.is_empty() {
            return Err(
                ConfigIssue::whole("`script` is required").with_hint("script: \"path/to/node.py\"")
            );
        }
        if self.class.is_empty() {
            return Err(ConfigIssue::whole("`class` is required")
                .with_hint("the name of a class defined in the script"));
        }
        interpreter::start();
        Python::attach(|py| interpreter::class(py, Path::new(&self.script), &self.class))
            .map(drop)
            .map_err(|why| {
                let field = if why.contains("has no class") {
                    "class"
                } else {
                    "script"
                };
                ConfigIssue::field(field, why)
            })
    }
}

/// Which of the three kinds a node is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Source,
    Transform,
    Sink,
}

/// A running Python node: an instance of the script's class.
pub struct PyNode {
    role: Role,
    class: String,
    instance: Option<Py<PyAny>>,
}

impl PyNode {
    pub(crate) fn create(role: Role, settings: PySettings) -> Result<PyNode, Error> {
        interpreter::start();
        let class_name = settings.class.clone();
        let needed = if role == Role::Source {
            "produce"
        } else {
            "on_message"
        };
        let instance = Python::attach(|py| -> Result<Py<PyAny>, Error> {
            let class = interpreter::class(py, Path::new(&settings.script), &settings.class)
                .map_err(Error::config)?;
            let class = class.bind(py);
            if !class.hasattr(needed).unwrap_or(false) {
                return Err(Error::config(format!(
                    "class `{class_name}` has no method `{needed}`, which a Python {} needs",
                    match role {
                        Role::Source => "source",
                        Role::Transform => "transform",
                        Role::Sink => "sink",
                    }
                )));
            }
            let args = interpreter::settings_dict(py, &settings.settings)
                .map_err(|e| Error::failed(e.to_string()))?;
            class.call1((args,)).map(Bound::unbind).map_err(|e| {
                Error::failed(format!(
                    "{class_name}(settings) raised {}",
                    interpreter::describe_error(py, &e)
                ))
            })
        })?;
        Ok(PyNode {
            role,
            class: settings.class,
            instance: Some(instance),
        })
    }

    /// Calls `method` (if the object has it, else `None`) and converts
    /// what it returned into messages, all under the GIL; the caller
    /// emits them after the GIL is released (an emit may wait on a full
    /// queue, and other Python nodes must not wait with it).
    fn call(
        &self,
        method: &str,
        message: Option<&Message>,
        meta: MessageMeta,
        optional: bool,
    ) -> Result<Option<Vec<Message>>, Error> {
        let Some(instance) = &self.instance else {
            return Ok(None);
        };
        Python::attach(|py| {
            let instance = instance.bind(py);
            if optional && !instance.hasattr(method).unwrap_or(false) {
                return Ok(None);
            }
            let returned = match message {
                Some(message) => {
                    let Some(value) = convert::to_python(py, message)
                        .map_err(|e| Error::failed(e.to_string()))?
                    else {
                        return Ok(None);
                    };
                    instance.call_method1(method, (value,))
                }
                None => instance.call_method0(method),
            }
            .map_err(|e| {
                Error::failed(format!(
                    "{}.{method} raised {}",
                    self.class,
                    interpreter::describe_error(py, &e)
                ))
            })?;
            if returned.is_none() {
                return Ok(None);
            }
            convert::returned_messages(&returned, meta)
                .map(Some)
                .map_err(|e| Error::failed(format!("{}.{method} returned {e}", self.class)))
        })
    }
}

fn emit_all(out: &mut Outputs, messages: Vec<Message>) -> Result<bool, Error> {
    for message in messages {
        if !out.try_emit(0, message)? {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Node for PyNode {
    fn on_message(&mut self, _port: u32, message: Message, out: &mut Outputs) -> Result<(), Error> {
        let passes_by = matches!(message.payload, Payload::Control(_) | Payload::Image(_));
        if passes_by {
            if self.role == Role::Transform {
                out.emit(0, message)?;
            }
            return Ok(());
        }
        let replies = self.call("on_message", Some(&message), message.meta, false)?;
        if self.role == Role::Transform {
            emit_all(out, replies.unwrap_or_default())?;
        }
        Ok(())
    }

    fn produce(&mut self, out: &mut Outputs) -> Result<Produce, Error> {
        if self.role != Role::Source {
            return Ok(Produce::Finished);
        }
        // `None` from produce() ends the source.
        let Some(messages) = self.call("produce", None, MessageMeta::default(), false)? else {
            return Ok(Produce::Finished);
        };
        Ok(if emit_all(out, messages)? {
            Produce::More
        } else {
            Produce::Finished
        })
    }

    fn flush(&mut self, out: &mut Outputs) -> Result<(), Error> {
        let messages = self.call("flush", None, MessageMeta::default(), true)?;
        if self.role != Role::Sink {
            emit_all(out, messages.unwrap_or_default())?;
        }
        Ok(())
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        let result = self
            .call("close", None, MessageMeta::default(), true)
            .map(drop);
        if let Some(instance) = self.instance.take() {
            Python::attach(|_| drop(instance));
        }
        result
    }
}
