//! The server's request parser (multibulk and inline) on arbitrary bytes, fed in two pieces
//! split where the first byte says, as a socket may cut them: it returns requests whose
//! byte counts add up, or a protocol error, and never panics or buffers without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::engine::resp::RequestParser;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let cut = usize::from(split).min(data.len());
    let mut parser = RequestParser::new();
    let mut consumed = 0;
    for piece in [&data[..cut], &data[cut..]] {
        parser.feed(piece);
        loop {
            match parser.next_request() {
                Ok(Some(req)) => {
                    consumed += req.wire_len;
                    parser.recycle(req.argv);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    assert_eq!(consumed + parser.pending(), data.len());
});
