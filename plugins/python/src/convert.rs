//! Messages as Python values, and back.
//!
//! | Hark               | Python                                   |
//! |--------------------|------------------------------------------|
//! | text               | `str`                                    |
//! | audio              | `hark.Audio(samples, sample_rate, channels)` |
//! | intent             | `dict` (`intent`, `confidence`, `text`, `slots`) |
//! | value              | `None`, `bool`, `int`, `float`, `str`, `list`, `dict` |
//!
//! Control events are not converted: a transform passes them on, a sink
//! drops them.

use hark_sdk::{
    api::{IntentMessage, ValueEntry},
    audio_message, text_message, value_map, Error, Message, MessageMeta, Payload, RVec, Value,
};
use pyo3::{
    prelude::*,
    types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple},
};

/// Audio in Python: `hark.Audio(samples, sample_rate, channels)`.
#[pyclass(module = "hark", name = "Audio")]
#[derive(Clone)]
pub struct Audio {
    /// Interleaved samples in [-1, 1].
    #[pyo3(get, set)]
    pub samples: Vec<f32>,
    /// Samples per second.
    #[pyo3(get, set)]
    pub sample_rate: u32,
    /// Channels.
    #[pyo3(get, set)]
    pub channels: u16,
}

#[pymethods]
impl Audio {
    #[new]
    #[pyo3(signature = (samples, sample_rate, channels = 1))]
    fn new(samples: Vec<f32>, sample_rate: u32, channels: u16) -> Self {
        Audio {
            samples,
            sample_rate,
            channels,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "hark.Audio({} samples, {} Hz, {} channels)",
            self.samples.len(),
            self.sample_rate,
            self.channels
        )
    }
}

/// The Python value for `message`, or `None` for what Python nodes do
/// not see (control events, images).
pub fn to_python<'py>(py: Python<'py>, message: &Message) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(Some(match &message.payload {
        Payload::Text(t) => PyString::new(py, t.text.as_str()).into_any(),
        Payload::Audio(a) => Bound::new(
            py,
            Audio {
                samples: a.samples.to_vec(),
                sample_rate: a.sample_rate,
                channels: a.channels,
            },
        )?
        .into_any(),
        Payload::Intent(i) => intent_to_python(py, i)?.into_any(),
        Payload::Value(v) => value_to_python(py, v)?,
        _ => return Ok(None),
    }))
}

fn intent_to_python<'py>(py: Python<'py>, intent: &IntentMessage) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("intent", intent.name.as_str())?;
    dict.set_item("confidence", intent.confidence)?;
    dict.set_item("text", intent.text.as_str())?;
    let slots = PyDict::new(py);
    for slot in intent.slots.iter() {
        let value = match slot.value {
            Value::Null => PyString::new(py, slot.raw.as_str()).into_any(),
            ref v => value_to_python(py, v)?,
        };
        slots.set_item(slot.name.as_str(), value)?;
    }
    dict.set_item("slots", slots)?;
    Ok(dict)
}

fn value_to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s.as_str()).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(value_to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Map(entries) => {
            let dict = PyDict::new(py);
            for ValueEntry { key, value } in entries.iter() {
                dict.set_item(key.as_str(), value_to_python(py, value)?)?;
            }
            dict.into_any()
        }
    })
}

/// A pipeline setting as a Python value.
pub fn ron_to_python<'py>(py: Python<'py>, value: &ron::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        ron::Value::Unit => py.None().into_bound(py),
        ron::Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        ron::Value::Char(c) => PyString::new(py, &c.to_string()).into_any(),
        ron::Value::String(s) => PyString::new(py, s).into_any(),
        ron::Value::Bytes(b) => pyo3::types::PyBytes::new(py, b).into_any(),
        ron::Value::Number(n) => match n {
            ron::Number::F32(f) => PyFloat::new(py, f.get() as f64).into_any(),
            ron::Number::F64(f) => PyFloat::new(py, f.get()).into_any(),
            other => match other.into_f64() {
                f if f.fract() == 0.0 => (f as i64).into_pyobject(py)?.into_any(),
                f => PyFloat::new(py, f).into_any(),
            },
        },
        ron::Value::Option(o) => match o {
            Some(v) => ron_to_python(py, v)?,
            None => py.None().into_bound(py),
        },
        ron::Value::Seq(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(ron_to_python(py, item)?)?;
            }
            list.into_any()
        }
        ron::Value::Map(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map.iter() {
                dict.set_item(ron_to_python(py, k)?, ron_to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// The messages a Python method returned: `None` is none, a `list`,
/// `tuple` or generator is one message per item, anything else is one
/// message.
pub fn returned_messages(
    value: &Bound<'_, PyAny>,
    meta: MessageMeta,
) -> Result<Vec<Message>, Error> {
    if value.is_none() {
        return Ok(Vec::new());
    }
    if value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>()
        || value.hasattr("__next__").unwrap_or(false)
    {
        let mut messages = Vec::new();
        for item in value.try_iter().map_err(|e| Error::failed(e.to_string()))? {
            let item = item.map_err(|e| Error::failed(e.to_string()))?;
            messages.push(from_python(&item, meta)?);
        }
        return Ok(messages);
    }
    Ok(vec![from_python(value, meta)?])
}

/// One message from a Python value.
pub fn from_python(value: &Bound<'_, PyAny>, meta: MessageMeta) -> Result<Message, Error> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text_message(meta, text.to_string_lossy()));
    }
    if let Ok(audio) = value.cast::<Audio>() {
        let audio = audio.borrow();
        if audio.sample_rate == 0
            || audio.channels == 0
            || !audio.samples.len().is_multiple_of(audio.channels as usize)
        {
            return Err(Error::failed(format!("malformed {}", audio.__repr__())));
        }
        return Ok(audio_message(
            meta,
            audio.sample_rate,
            audio.channels,
            audio.samples.clone(),
        ));
    }
    Ok(Message::new(meta, Payload::Value(python_to_value(value)?)))
}

fn python_to_value(value: &Bound<'_, PyAny>) -> Result<Value, Error> {
    let unsupported = || {
        Error::failed(format!(
            "cannot send a Python {} as a message (send str, hark.Audio, or None/bool/int/float/str/list/dict)",
            value.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    };
    Ok(if value.is_none() {
        Value::Null
    } else if let Ok(b) = value.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if value.is_instance_of::<PyInt>() {
        Value::Int(
            value
                .extract::<i64>()
                .map_err(|e| Error::failed(e.to_string()))?,
        )
    } else if let Ok(f) = value.cast::<PyFloat>() {
        Value::Float(f.value())
    } else if let Ok(s) = value.cast::<PyString>() {
        Value::Str(s.to_string_lossy().into_owned().into())
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = RVec::new();
        for item in value.try_iter().map_err(|_| unsupported())? {
            items.push(python_to_value(&item.map_err(|_| unsupported())?)?);
        }
        Value::List(items)
    } else if let Ok(dict) = value.cast::<PyDict>() {
        let mut entries = Vec::new();
        for (k, v) in dict.iter() {
            let key = k
                .str()
                .map_err(|_| unsupported())?
                .to_string_lossy()
                .into_owned();
            entries.push((key, python_to_value(&v)?));
        }
        value_map(entries.iter().map(|(k, v)| (k.as_str(), v.clone())))
    } else {
        return Err(unsupported());
    })
}
