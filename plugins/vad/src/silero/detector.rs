//! The decision logic, apart from the model: probabilities in,
//! utterance boundaries out. Counts in windows of 32 ms.

/// Samples per model window (32 ms at 16 kHz).
pub const WINDOW: usize = 512;

/// Thresholds and durations, in windows.
#[derive(Debug, Clone, Copy)]
pub struct DetectorConfig {
    /// Probability at which speech starts.
    pub threshold: f32,
    /// Windows of speech needed to start an utterance.
    pub min_speech: u32,
    /// Windows of silence that end it.
    pub min_silence: u32,
    /// Windows after which an utterance is cut even without silence
    /// (continuous noise must not make one endless utterance).
    pub max_speech: u32,
}

/// What a window changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing.
    None,
    /// An utterance started at window `at` (earlier than the current one:
    /// it is confirmed `min_speech` windows later).
    Start {
        /// First speech window.
        at: u64,
    },
    /// The utterance ended at window `at` (its first silent window).
    End {
        /// First silent window.
        at: u64,
    },
}

/// Where the detector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No speech.
    Idle,
    /// Speech began at window `start` but has not lasted `min_speech` yet.
    Candidate { start: u64, speech: u32 },
    /// In an utterance that started at window `start`.
    Speaking { start: u64 },
}

/// Hysteresis over window probabilities: speech is a window at or above
/// `threshold`, silence one below `threshold - 0.15` (as in Silero's own
/// `VADIterator`); windows in between change nothing. An utterance starts
/// at its first speech window once it has `min_speech` of them (short dips
/// inside do not restart the count), and ends at the first of
/// `min_silence` consecutive silent windows. A candidate that meets
/// `min_silence` first was a noise blip and is dropped. An utterance
/// reaching `max_speech` windows ends there; if speech goes on, the next
/// one starts as any other (confirmed by `min_speech` windows).
#[derive(Debug, Clone)]
pub struct Detector {
    config: DetectorConfig,
    state: State,
    silence_run: u32,
    window: u64,
}

impl Detector {
    /// A detector before any audio.
    pub fn new(config: DetectorConfig) -> Detector {
        Detector {
            config,
            state: State::Idle,
            silence_run: 0,
            window: 0,
        }
    }

    /// Whether an utterance is in progress (confirmed).
    pub fn in_speech(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// The first window of an unconfirmed start, if any.
    pub fn candidate(&self) -> Option<u64> {
        match self.state {
            State::Candidate { start, .. } => Some(start),
            _ => None,
        }
    }

    /// Windows seen so far.
    pub fn windows(&self) -> u64 {
        self.window
    }

    /// Feeds the next window's probability.
    pub fn push(&mut self, probability: f32) -> Transition {
        let index = self.window;
        self.window += 1;
        let speech = probability >= self.config.threshold;
        let silence = probability < self.config.threshold - 0.15;
        if speech {
            self.silence_run = 0;
        } else if silence {
            self.silence_run += 1;
        }
        let ended = self.silence_run >= self.config.min_silence.max(1);
        match self.state {
            State::Idle if speech => {
                self.state = State::Candidate {
                    start: index,
                    speech: 0,
                };
                self.confirm()
            }
            State::Idle => Transition::None,
            State::Candidate { .. } if speech => self.confirm(),
            State::Candidate { .. } if ended => {
                self.state = State::Idle;
                Transition::None
            }
            State::Candidate { .. } => Transition::None,
            State::Speaking { .. } if ended => {
                self.state = State::Idle;
                Transition::End {
                    at: index + 1 - u64::from(self.silence_run),
                }
            }
            State::Speaking { start }
                if index + 1 - start >= u64::from(self.config.max_speech.max(1)) =>
            {
                self.state = State::Idle;
                self.silence_run = 0;
                Transition::End { at: index + 1 }
            }
            State::Speaking { .. } => Transition::None,
        }
    }

    /// Counts a speech window of the candidate; starts the utterance when
    /// it has enough.
    fn confirm(&mut self) -> Transition {
        let State::Candidate { start, speech } = self.state else {
            return Transition::None;
        };
        if speech + 1 >= self.config.min_speech.max(1) {
            self.state = State::Speaking { start };
            Transition::Start { at: start }
        } else {
            self.state = State::Candidate {
                start,
                speech: speech + 1,
            };
            Transition::None
        }
    }

    /// Ends the utterance in progress, if any (end of stream).
    pub fn finish(&mut self) -> Transition {
        let was = std::mem::replace(&mut self.state, State::Idle);
        if matches!(was, State::Speaking { .. }) {
            Transition::End {
                at: self.window - u64::from(self.silence_run),
            }
        } else {
            Transition::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(probabilities: &[f32]) -> Vec<Transition> {
        run_capped(probabilities, 1000)
    }

    fn run_capped(probabilities: &[f32], max_speech: u32) -> Vec<Transition> {
        let mut d = Detector::new(DetectorConfig {
            threshold: 0.5,
            min_speech: 3,
            min_silence: 4,
            max_speech,
        });
        let mut out: Vec<_> = probabilities
            .iter()
            .map(|&p| d.push(p))
            .filter(|t| *t != Transition::None)
            .collect();
        out.extend(Some(d.finish()).filter(|t| *t != Transition::None));
        out
    }

    #[test]
    fn starts_after_min_speech_at_the_first_speech_window_and_ends_at_the_first_silent_one() {
        let p = [0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1];
        assert_eq!(
            run(&p),
            [Transition::Start { at: 2 }, Transition::End { at: 6 }]
        );
    }

    #[test]
    fn short_blips_and_short_pauses_are_ignored() {
        // A 2-window blip (< min_speech) then silence, then speech with a
        // 2-window pause (< min_silence) inside: one utterance.
        let p = [
            0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.8, 0.8, 0.8, 0.1, 0.1, 0.9, 0.9, 0.2, 0.2, 0.2, 0.2,
        ];
        assert_eq!(
            run(&p),
            [Transition::Start { at: 6 }, Transition::End { at: 13 }]
        );
    }

    #[test]
    fn a_dip_while_speech_is_being_confirmed_does_not_move_the_start() {
        // Speech from window 1, with one silent window before it has lasted
        // min_speech: the utterance still starts at 1.
        let p = [0.1, 0.9, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1];
        assert_eq!(
            run(&p),
            [Transition::Start { at: 1 }, Transition::End { at: 5 }]
        );
    }

    #[test]
    fn probabilities_between_the_thresholds_keep_the_current_state() {
        // 0.4 is between 0.35 and 0.5: neither starts nor ends anything.
        let p = [0.9, 0.9, 0.9, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
        assert_eq!(
            run(&p),
            [Transition::Start { at: 0 }, Transition::End { at: 9 }]
        );
    }

    #[test]
    fn endless_speech_is_cut_into_utterances_of_at_most_max_speech() {
        // 20 windows of speech, then silence, with max_speech 8: cut at 8,
        // a new utterance confirmed from window 8 (min_speech 3) and cut
        // 8 windows later, then the rest ends with the silence.
        let mut p = vec![0.9; 20];
        p.extend([0.1; 5]);
        assert_eq!(
            run_capped(&p, 8),
            [
                Transition::Start { at: 0 },
                Transition::End { at: 8 },
                Transition::Start { at: 8 },
                Transition::End { at: 16 },
                Transition::Start { at: 16 },
                Transition::End { at: 20 },
            ]
        );
    }
}
