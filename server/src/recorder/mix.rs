//! Both speakers in one file: the two transcription WAVs (16 kHz mono,
//! aligned sample for sample on the session clock) summed into one, so an
//! admin or a transcription service hears the whole conversation.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::wav::{HEADER_LEN, header};

/// Bytes of sample data mixed per chunk.
pub const CHUNK: usize = 64 * 1024;

/// A mix of the WAVs at `paths`, produced chunk by chunk.
pub struct Mixer {
    inputs: Vec<BufReader<File>>,
    remaining: u64,
    header: Option<[u8; HEADER_LEN as usize]>,
}

impl Mixer {
    pub fn open(paths: &[&Path]) -> io::Result<Mixer> {
        let mut inputs = Vec::with_capacity(paths.len());
        let mut longest = 0;
        for p in paths {
            let mut f = File::open(p)?;
            let len = f.metadata()?.len().saturating_sub(HEADER_LEN);
            longest = longest.max(len);
            f.seek(SeekFrom::Start(HEADER_LEN))?;
            inputs.push(BufReader::new(f));
        }
        let longest = longest & !1;
        Ok(Mixer {
            inputs,
            remaining: longest,
            header: Some(header(longest)),
        })
    }

    /// The whole file's length in bytes.
    pub fn file_len(&self) -> u64 {
        HEADER_LEN + self.remaining
    }

    /// The next piece of the file (the header first); `None` at the end.
    pub fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(h) = self.header.take() {
            return Ok(Some(h.to_vec()));
        }
        if self.remaining == 0 {
            return Ok(None);
        }
        let n = CHUNK.min(self.remaining as usize);
        let mut sum = vec![0i32; n / 2];
        let mut buf = vec![0u8; n];
        for input in &mut self.inputs {
            let got = read_up_to(input, &mut buf)?;
            for (i, s) in buf[..got & !1].chunks_exact(2).enumerate() {
                sum[i] += i32::from(i16::from_le_bytes([s[0], s[1]]));
            }
        }
        self.remaining -= n as u64;
        let mut out = Vec::with_capacity(n);
        for s in sum {
            let v = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            out.extend_from_slice(&v.to_le_bytes());
        }
        Ok(Some(out))
    }
}

/// Reads until `buf` is full or the input ends (a shorter input is silence
/// from there on).
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match input.read(&mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests;
