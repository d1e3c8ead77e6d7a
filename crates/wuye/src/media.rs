//! Photos people upload: accepted by their content (JPEG, PNG or WebP, at most
//! [`MAX_PHOTO_BYTES`]), never by their name, and stripped of embedded metadata (EXIF and XMP,
//! where phones write the location) before they are stored.

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is larger than 10 MB / 照片不能超过 10 MB")]
    TooLarge,
    #[error("only JPEG, PNG or WebP photos are accepted / 只接受 JPEG、PNG 或 WebP 图片")]
    NotAPhoto,
    #[error("the photo is damaged / 图片文件已损坏")]
    Damaged,
}

/// The content type of an image, read from its first bytes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Checks a photo and returns its content type and its bytes without metadata.
pub fn clean_photo(bytes: &[u8]) -> Result<(&'static str, Vec<u8>), PhotoError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let ct = image_type(bytes).ok_or(PhotoError::NotAPhoto)?;
    let cleaned = match ct {
        "image/jpeg" => strip_jpeg(bytes),
        "image/png" => strip_png(bytes),
        _ => strip_webp(bytes),
    }
    .ok_or(PhotoError::Damaged)?;
    Ok((ct, cleaned))
}

/// The largest document (a PDF or an image) accepted as evidence, minutes or a notice's file.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("a file is at most 20 MB / 单个文件不超过 20 MB")]
    TooLarge,
    #[error("a file is a PDF, or a JPEG, PNG or WebP image / 文件须为 PDF 或 JPEG、PNG、WebP 图片")]
    Unsupported,
}

/// Checks a document by its content: a PDF is kept as it is, an image is cleaned like a
/// photo. Returns its content type and the bytes to store.
pub fn clean_document(bytes: &[u8]) -> Result<(&'static str, std::borrow::Cow<'_, [u8]>), DocumentError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(("application/pdf", std::borrow::Cow::Borrowed(bytes)));
    }
    let (ct, cleaned) = clean_photo(bytes).map_err(|_| DocumentError::Unsupported)?;
    Ok((ct, std::borrow::Cow::Owned(cleaned)))
}

/// Drops APP1 segments (EXIF, XMP) of a JPEG; everything from the start of scan on is copied.
fn strip_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let end = i + 2 + len;
        if len < 2 || end > b.len() {
            return None;
        }
        if marker != 0xE1 {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    None
}

/// Drops `eXIf` and textual metadata chunks of a PNG.
fn strip_png(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = b[..8].to_vec();
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt") {
            out.extend_from_slice(&b[i..end]);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        i = end;
    }
    None
}

/// Drops `EXIF` and `XMP ` chunks of a WebP and clears their flags in `VP8X`.
fn strip_webp(b: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(b.len());
    let mut i = 12;
    while i + 8 <= b.len() {
        let kind = &b[i..i + 4];
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        let end = i.checked_add(8)?.checked_add(len + (len & 1))?.min(b.len());
        if i + 8 + len > b.len() {
            return None;
        }
        if kind == b"VP8X" && len >= 1 {
            let mut chunk = b[i..end].to_vec();
            chunk[8] &= !(0x08 | 0x04); // EXIF and XMP flags
            body.extend_from_slice(&chunk);
        } else if kind != b"EXIF" && kind != b"XMP " {
            body.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(body.len() + 4).ok()?.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_with_exif() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        // APP0 JFIF
        b.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0]);
        // APP1 Exif with a fake GPS string
        let exif = b"Exif\0\0GPS 36.70N 119.16E";
        b.extend_from_slice(&[0xFF, 0xE1]);
        b.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        b.extend_from_slice(exif);
        // SOS and some scan data, then EOI
        b.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn jpeg_loses_its_exif_and_keeps_its_image() {
        let (ct, out) = clean_photo(&jpeg_with_exif()).unwrap();
        assert_eq!(ct, "image/jpeg");
        assert!(!out.windows(3).any(|w| w == b"GPS"));
        assert!(out.windows(4).any(|w| w == b"JFIF"));
        assert!(out.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]));
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked here)
        c
    }

    #[test]
    fn png_loses_exif_and_text() {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend(png_chunk(b"IHDR", &[0; 13]));
        b.extend(png_chunk(b"eXIf", b"GPS here"));
        b.extend(png_chunk(b"tEXt", b"Location\0Weifang"));
        b.extend(png_chunk(b"IDAT", &[1, 2, 3]));
        b.extend(png_chunk(b"IEND", &[]));
        let (_, out) = clean_photo(&b).unwrap();
        assert!(!out.windows(3).any(|w| w == b"GPS") && !out.windows(7).any(|w| w == b"Weifang"));
        assert!(out.windows(4).any(|w| w == b"IDAT"));
    }

    #[test]
    fn webp_loses_exif_and_its_flag() {
        let mut body = Vec::new();
        body.extend_from_slice(b"VP8X");
        body.extend_from_slice(&10u32.to_le_bytes());
        body.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(b"EXIF");
        body.extend_from_slice(&4u32.to_le_bytes());
        body.extend_from_slice(b"GPS!");
        body.extend_from_slice(b"VP8 ");
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(&[7, 7]);
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        b.extend_from_slice(b"WEBP");
        b.extend(body);
        let (ct, out) = clean_photo(&b).unwrap();
        assert_eq!(ct, "image/webp");
        assert!(!out.windows(4).any(|w| w == b"GPS!"));
        assert_eq!(out[20] & 0x08, 0, "the EXIF flag is cleared");
        assert_eq!(
            u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize,
            out.len() - 8
        );
    }

    #[test]
    fn documents_are_pdfs_or_images() {
        assert_eq!(
            clean_document(b"%PDF-1.7 minutes").map(|(ct, _)| ct),
            Ok("application/pdf")
        );
        assert_eq!(
            clean_document(b"PK\x03\x04 a zip").map(|(ct, _)| ct),
            Err(DocumentError::Unsupported)
        );
        assert_eq!(
            clean_document(&vec![b'%'; MAX_DOCUMENT_BYTES + 1]).map(|(ct, _)| ct),
            Err(DocumentError::TooLarge)
        );
    }

    #[test]
    fn judged_by_content_not_name() {
        assert_eq!(clean_photo(b"%PDF-1.7 renamed.jpg"), Err(PhotoError::NotAPhoto));
        assert_eq!(
            clean_photo(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF]),
            Err(PhotoError::Damaged)
        );
        assert_eq!(
            clean_photo(&vec![0xFF; MAX_PHOTO_BYTES + 1]),
            Err(PhotoError::TooLarge)
        );
    }
}
