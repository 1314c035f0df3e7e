//! "Did you mean ...?": the one typo matcher of Hark. The sdk uses it for
//! unknown config fields and kinds, the host (which links the sdk) for
//! unknown plugins, kinds, nodes, ports and fields in pipeline files, and
//! plugins may use it for names of their own (devices, voices).

/// The candidate closest to `name`, if it is close enough to be a likely
/// typo (Jaro-Winkler similarity of at least 0.8).
///
/// ```
/// let kinds = ["wav-reader", "wav-writer", "gain"];
/// assert_eq!(hark_sdk::did_you_mean("wav-reder", kinds.into_iter()), Some("wav-reader"));
/// assert_eq!(hark_sdk::did_you_mean("speaker", kinds.into_iter()), None);
/// ```
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
