//! A service's output: what its start script and the service print (appended by every process
//! to `data_dir/logs/<app_id>/output.log`), and the seed's `nohup.out` in the workspace when the
//! script redirects there. Both are rotated by copy-and-truncate past `log_max_bytes`, keeping
//! `log_keep` older files; read as a tail, and followed as a stream.
//!
//! Copy-and-truncate is the only rotation a file held open by another process allows. Writers
//! that opened with `O_APPEND` (hosting's capture) continue at the new end; a writer without it
//! (`> nohup.out`) continues at its old offset, leaving a hole of zero bytes, which is skipped
//! when copying and reading. Lines written between the copy and the truncation are lost.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::watch;

/// Largest tail read at once.
const TAIL_BYTES: u64 = 4 * 1024 * 1024;

/// The output file of `app_id`.
pub fn output_path(data_dir: &Path, app_id: &str) -> PathBuf {
    data_dir.join("logs").join(app_id).join("output.log")
}

fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Rotates `path` when the data it holds is over `max` bytes. Returns whether it did.
pub fn rotate(path: &Path, max: u64, keep: u32) -> std::io::Result<bool> {
    let Ok(meta) = fs::metadata(path) else { return Ok(false) };
    // Allocated bytes, not the length: a hole left by a writer without O_APPEND is not data.
    if meta.blocks() * 512 <= max && meta.len() <= max.saturating_mul(4) {
        return Ok(false);
    }
    if keep == 0 {
        fs::OpenOptions::new().write(true).open(path)?.set_len(0)?;
        return Ok(true);
    }
    for n in (1..keep).rev() {
        let _ = fs::rename(rotated(path, n), rotated(path, n + 1));
    }
    let mut data = Vec::new();
    fs::File::open(path)?.read_to_end(&mut data)?;
    data.retain(|b| *b != 0);
    fs::write(rotated(path, 1), &data)?;
    fs::OpenOptions::new().write(true).open(path)?.set_len(0)?;
    Ok(true)
}

/// The last `lines` lines of `path` (and of its newest rotated file when it holds fewer).
pub fn tail(path: &Path, lines: usize) -> Vec<u8> {
    if lines == 0 {
        return Vec::new();
    }
    let mut out = read_end(path);
    if count_lines(&out) < lines {
        let mut older = read_end(&rotated(path, 1));
        older.extend_from_slice(&out);
        out = older;
    }
    // Walk back over `lines` line ends (a final newline does not start a line).
    let body_end = if out.ends_with(b"\n") { out.len() - 1 } else { out.len() };
    let (mut seen, mut cut) = (0, 0);
    for i in (0..body_end).rev() {
        if out[i] == b'\n' {
            seen += 1;
            if seen == lines {
                cut = i + 1;
                break;
            }
        }
    }
    out.split_off(cut)
}

fn count_lines(b: &[u8]) -> usize {
    b.iter().filter(|c| **c == b'\n').count()
}

fn read_end(path: &Path) -> Vec<u8> {
    let Ok(mut f) = fs::File::open(path) else { return Vec::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(TAIL_BYTES);
    let mut out = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_ok() {
        let _ = f.take(TAIL_BYTES).read_to_end(&mut out);
    }
    out.retain(|b| *b != 0);
    out
}

/// The size of `path` now (0 when missing).
pub fn size(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What is appended to `path` from `offset` on, as it comes, until `done` turns true (or the
/// reader goes away). A truncation (rotation) starts over at the file's start.
pub fn follow(
    path: PathBuf,
    offset: u64,
    done: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold((path, offset, done), |(path, mut offset, done)| async move {
        loop {
            if *done.borrow() {
                return None;
            }
            let len = size(&path);
            if len < offset {
                offset = 0;
            }
            if len > offset {
                let chunk = (|| -> std::io::Result<Vec<u8>> {
                    let mut f = fs::File::open(&path)?;
                    f.seek(SeekFrom::Start(offset))?;
                    let mut buf = Vec::new();
                    f.take((len - offset).min(1 << 20)).read_to_end(&mut buf)?;
                    Ok(buf)
                })();
                match chunk {
                    Ok(mut buf) => {
                        offset += buf.len() as u64;
                        buf.retain(|b| *b != 0);
                        if !buf.is_empty() {
                            return Some((Ok(Bytes::from(buf)), (path, offset, done)));
                        }
                    }
                    Err(e) => return Some((Err(e), (path, offset, done))),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_count_lines_from_the_end_across_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("output.log");
        fs::write(&p, b"one\ntwo\nthree\n").unwrap();
        assert_eq!(tail(&p, 2), b"two\nthree\n");
        assert_eq!(tail(&p, 10), b"one\ntwo\nthree\n");
        assert!(rotate(&p, 4, 2).unwrap());
        assert_eq!(size(&p), 0);
        fs::write(&p, b"four\n").unwrap();
        assert_eq!(tail(&p, 2), b"three\nfour\n");
        assert_eq!(tail(&p, 0), b"");
    }

    #[test]
    fn holes_left_by_writers_without_append_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nohup.out");
        let mut f = fs::OpenOptions::new().create(true).write(true).truncate(true).open(&p).unwrap();
        use std::io::Write;
        f.seek(SeekFrom::Start(100_000)).unwrap();
        f.write_all(b"after the hole\n").unwrap();
        assert_eq!(tail(&p, 5), b"after the hole\n");
        assert!(!rotate(&p, 50_000, 2).unwrap(), "a hole is not data");
    }

    #[actix_rt::test]
    async fn follow_streams_what_is_appended() {
        use futures_util::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("output.log");
        fs::write(&p, b"old\n").unwrap();
        let (tx, rx) = watch::channel(false);
        let mut s = Box::pin(follow(p.clone(), size(&p), rx));
        fs::OpenOptions::new().append(true).open(&p).unwrap().write_all_ok(b"new\n");
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"new\n"));
        tx.send(true).unwrap();
        assert!(s.next().await.is_none());
    }

    trait WriteAllOk {
        fn write_all_ok(self, b: &[u8]);
    }
    impl WriteAllOk for fs::File {
        fn write_all_ok(mut self, b: &[u8]) {
            use std::io::Write;
            self.write_all(b).unwrap();
        }
    }
}
