//! The Whisper models an operator can fetch with `duet model download`,
//! pinned by size and SHA-256, and what Duet infers from a model's file
//! name (the word-timing preset, whether it is English-only).
//!
//! The digests are those of the files whisper.cpp's project publishes
//! (`ggml-<name>.bin`); a download that does not match is refused, so a
//! mirror or a proxy cannot hand the server another model.

/// One model of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogModel {
    /// What operators type: `tiny.en`, `base`, ...
    pub name: &'static str,
    pub bytes: u64,
    pub sha256: &'static str,
    /// One line for `duet model list`.
    pub summary: &'static str,
}

impl CatalogModel {
    /// The file name, in the models folder and at the base URL.
    pub fn file_name(&self) -> String {
        format!("ggml-{}.bin", self.name)
    }
}

/// Where models are fetched from unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

pub const CATALOG: &[CatalogModel] = &[
    CatalogModel {
        name: "tiny.en",
        bytes: 77_704_715,
        sha256: "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f",
        summary: "English only, fastest; good for clear speech (the default pick)",
    },
    CatalogModel {
        name: "tiny",
        bytes: 77_691_713,
        sha256: "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21",
        summary: "multilingual, fastest; rough outside English",
    },
    CatalogModel {
        name: "base.en",
        bytes: 147_964_211,
        sha256: "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002",
        summary: "English only; more accurate, about half as fast as tiny",
    },
    CatalogModel {
        name: "base",
        bytes: 147_951_465,
        sha256: "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe",
        summary: "multilingual; the smallest worth using for other languages",
    },
    CatalogModel {
        name: "small.en",
        bytes: 487_614_201,
        sha256: "c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d",
        summary: "English only; accurate, needs a fast CPU (slower than real time on 2 cores)",
    },
    CatalogModel {
        name: "small",
        bytes: 487_601_967,
        sha256: "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b",
        summary: "multilingual; accurate, needs a fast CPU",
    },
];

pub fn find(name: &str) -> Option<&'static CatalogModel> {
    CATALOG.iter().find(|m| m.name == name)
}

/// Which model family a file holds, read from its name (`ggml-base.en.bin`,
/// `ggml-small-q5_1.bin`, ...): it picks the attention heads whisper.cpp
/// aligns words with, which must match the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFamily {
    TinyEn,
    Tiny,
    BaseEn,
    Base,
    SmallEn,
    Small,
    MediumEn,
    Medium,
    LargeV1,
    LargeV2,
    LargeV3,
    LargeV3Turbo,
}

impl ModelFamily {
    /// From a model's file name; `None` when it names no known family
    /// (word times then come from the decoder's timestamps instead).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let stem = name
            .rsplit('/')
            .next()
            .unwrap_or(name)
            .trim_start_matches("ggml-")
            .trim_end_matches(".bin");
        // Quantized variants keep the family: `base.en-q5_1`, `small-q8_0`.
        let stem = stem.split("-q").next().unwrap_or(stem);
        Some(match stem {
            "tiny.en" => Self::TinyEn,
            "tiny" => Self::Tiny,
            "base.en" => Self::BaseEn,
            "base" => Self::Base,
            "small.en" => Self::SmallEn,
            "small" => Self::Small,
            "medium.en" => Self::MediumEn,
            "medium" => Self::Medium,
            "large-v1" => Self::LargeV1,
            "large-v2" => Self::LargeV2,
            "large-v3" | "large" => Self::LargeV3,
            "large-v3-turbo" => Self::LargeV3Turbo,
            _ => return None,
        })
    }
}

/// Whether `hex` is a SHA-256 digest written in hex.
pub fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests;
