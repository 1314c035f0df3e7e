//! The part of espeak-ng's C API (`espeak-ng/speak_lib.h`) this plugin
//! uses, and a safe wrapper around it.
//!
//! espeak-ng keeps one global synthesiser per process and is not
//! thread-safe: every call goes through [`Synth`], which holds a global
//! lock. Audio comes back through one global callback, on the thread that
//! called `espeak_Synth` (synchronous mode), into a thread-local buffer
//! that [`Synth::speak`] takes when synthesis returns.

use std::{
    cell::RefCell,
    ffi::{c_char, c_int, c_short, c_uint, c_void, CString},
    sync::OnceLock,
};

use parking_lot::{Mutex, MutexGuard};

const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
const ESPEAK_INITIALIZE_DONT_EXIT: c_int = 0x8000;
const POS_CHARACTER: c_int = 1;
const ESPEAK_CHARS_UTF8: c_uint = 1;
const ESPEAK_ENDPAUSE: c_uint = 0x1000;
const EE_OK: c_int = 0;
const ESPEAK_RATE: c_int = 1;
const ESPEAK_VOLUME: c_int = 2;
const ESPEAK_PITCH: c_int = 3;

type SynthCallback = unsafe extern "C" fn(*mut c_short, c_int, *mut c_void) -> c_int;

#[link(name = "espeak-ng")]
unsafe extern "C" {
    fn espeak_Initialize(
        output: c_int,
        buflength: c_int,
        path: *const c_char,
        options: c_int,
    ) -> c_int;
    fn espeak_SetSynthCallback(callback: SynthCallback);
    fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    fn espeak_TextToPhonemes(
        textptr: *mut *const c_void,
        textmode: c_int,
        phonememode: c_int,
    ) -> *const c_char;
}

/// `espeak_TextToPhonemes`' phoneme mode: IPA, as UTF-8.
const ESPEAK_PHONEMES_IPA: c_int = 0x02;

/// Milliseconds of audio per callback.
const CHUNK_MS: c_int = 100;

/// The sample rate, once espeak-ng is initialised (or why it failed).
static INIT: OnceLock<Result<u32, String>> = OnceLock::new();
static LOCK: Mutex<()> = Mutex::new(());

thread_local! {
    /// Audio of the synthesis running on this thread.
    static AUDIO: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn on_audio(wav: *mut c_short, samples: c_int, _events: *mut c_void) -> c_int {
    if !wav.is_null() && samples > 0 {
        // SAFETY: espeak-ng hands `samples` valid samples at `wav` for the
        // duration of the call.
        let chunk = unsafe { std::slice::from_raw_parts(wav, samples as usize) };
        AUDIO.with(|a| a.borrow_mut().extend_from_slice(chunk));
    }
    0 // go on
}

/// Voice settings of one synthesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voice {
    /// espeak-ng voice name (`en-us`, `de`, `fr`, ...).
    pub name: String,
    /// Words per minute (80..=450).
    pub rate: u32,
    /// Base pitch (0..=100).
    pub pitch: u32,
    /// Volume (0..=200, 100 normal).
    pub volume: u32,
}

/// Exclusive use of the process's espeak-ng.
pub struct Synth {
    _guard: MutexGuard<'static, ()>,
    sample_rate: u32,
}

impl Synth {
    /// Initialises espeak-ng (once per process) and locks it.
    pub fn lock() -> Result<Synth, String> {
        let sample_rate = INIT
            .get_or_init(|| {
                // SAFETY: plain C calls; espeak-ng copies nothing we own.
                let rate = unsafe {
                    espeak_Initialize(
                        AUDIO_OUTPUT_SYNCHRONOUS,
                        CHUNK_MS,
                        std::ptr::null(),
                        ESPEAK_INITIALIZE_DONT_EXIT,
                    )
                };
                if rate <= 0 {
                    return Err("espeak-ng could not be initialised (its data files, espeak-ng-data, were not found)".to_string());
                }
                // SAFETY: `on_audio` matches t_espeak_callback.
                unsafe { espeak_SetSynthCallback(on_audio) };
                Ok(rate as u32)
            })
            .clone()?;
        Ok(Synth {
            _guard: LOCK.lock(),
            sample_rate,
        })
    }

    /// Samples per second of what `speak` produces (mono).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Selects the voice; fails for an unknown voice name.
    pub fn set_voice(&mut self, voice: &Voice) -> Result<(), String> {
        let name = CString::new(voice.name.as_str()).map_err(|_| "voice name has a NUL byte")?;
        // SAFETY: `name` outlives the call.
        if unsafe { espeak_SetVoiceByName(name.as_ptr()) } != EE_OK {
            return Err(format!("espeak-ng has no voice {:?}", voice.name));
        }
        for (parameter, value) in [
            (ESPEAK_RATE, voice.rate),
            (ESPEAK_PITCH, voice.pitch),
            (ESPEAK_VOLUME, voice.volume),
        ] {
            // SAFETY: plain C call.
            unsafe { espeak_SetParameter(parameter, value as c_int, 0) };
        }
        Ok(())
    }

    /// The IPA phonemes of `text` in the current voice's language, clause
    /// by clause (espeak-ng stops at a sentence end, comma, colon or
    /// semicolon), each with the punctuation that ended it in the text.
    pub fn phonemes(&mut self, text: &str) -> Vec<(String, Option<char>)> {
        let text = CString::new(text.replace('\0', " ")).expect("NUL bytes removed");
        let start = text.as_ptr();
        let bytes = text.as_bytes();
        let mut next: *const c_void = start.cast();
        let mut clauses = Vec::new();
        while !next.is_null() {
            let from = next as usize - start as usize;
            // SAFETY: `next` points into `text` (NUL-terminated, alive
            // for the loop); espeak-ng advances it or sets it to NULL, and
            // returns a NUL-terminated string it owns until its next call.
            let phonemes = unsafe {
                let p = espeak_TextToPhonemes(
                    &mut next,
                    ESPEAK_CHARS_UTF8 as c_int,
                    ESPEAK_PHONEMES_IPA,
                );
                if p.is_null() {
                    break;
                }
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            };
            let to = if next.is_null() {
                bytes.len()
            } else {
                (next as usize - start as usize).min(bytes.len())
            };
            // espeak-ng does not say which punctuation ended the clause:
            // the last one in the text it consumed did.
            let consumed = String::from_utf8_lossy(&bytes[from.min(to)..to]);
            let punctuation = consumed
                .trim_end()
                .chars()
                .last()
                .filter(|c| matches!(c, '.' | ',' | '?' | '!' | ';' | ':'));
            if !phonemes.trim().is_empty() || punctuation.is_some() {
                clauses.push((phonemes.trim().to_string(), punctuation));
            }
        }
        clauses
    }

    /// Synthesises `text` into 16-bit mono samples at [`Synth::sample_rate`].
    pub fn speak(&mut self, text: &str) -> Result<Vec<i16>, String> {
        let text = CString::new(text.replace('\0', " ")).expect("NUL bytes removed");
        AUDIO.with(|a| a.borrow_mut().clear());
        // SAFETY: `text` is NUL-terminated and outlives the synchronous call.
        let result = unsafe {
            espeak_Synth(
                text.as_ptr().cast(),
                text.as_bytes_with_nul().len(),
                0,
                POS_CHARACTER,
                0,
                ESPEAK_CHARS_UTF8 | ESPEAK_ENDPAUSE,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let audio = AUDIO.with(|a| std::mem::take(&mut *a.borrow_mut()));
        if result == EE_OK {
            Ok(audio)
        } else {
            Err(format!("espeak-ng failed to synthesise (error {result})"))
        }
    }
}
