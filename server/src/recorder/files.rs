//! Names of a recording's files. Built only from roles and track kinds,
//! never from input; a requested name is served only if the manifest lists
//! it.

use duet_signaling::Role;

use super::tap::TrackKind;

/// `mentor-audio.ogg`, `mentee-camera.webm`, ...
pub fn track_file(role: Role, kind: TrackKind, ext: &str) -> String {
    format!("{}-{}.{ext}", role.as_str(), kind.as_str())
}

/// `mentor.wav`: one speaker's transcription-ready audio.
pub fn transcript_file(role: Role) -> String {
    format!("{}.wav", role.as_str())
}

/// Whether `name` is a plain file name (no path, no hidden file).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Makes a folder's entries (new, renamed or removed files) durable: a
/// file's own `fsync` does not cover its name.
pub fn sync_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
