//! The converter's parts on small made-up inputs.

use half::f16;

use super::{assets::byte_decoder, ggml::q8_0_block, *};

#[test]
fn byte_decoder_matches_gpt2() {
    let d = byte_decoder();
    assert_eq!(d.len(), 256);
    // GPT-2 maps the space to 'Ġ' (U+0120) and newline to 'Ċ' (U+010A).
    assert_eq!(d[&'Ġ'], b' ');
    assert_eq!(d[&'Ċ'], b'\n');
    assert_eq!(d[&'a'], b'a');
    assert_eq!(d[&'\u{100}'], 0);
}

#[test]
fn q8_0_rounds_half_to_even_with_the_f32_scale() {
    let mut block = [0f32; 32];
    block[0] = 127.0;
    block[1] = 2.5; // scale 1.0: 2.5 -> 2 (ties to even), 3.5 -> 4
    block[2] = 3.5;
    block[3] = -127.0;
    let (scale, q) = q8_0_block(&block);
    assert_eq!(scale.to_f32(), 1.0);
    assert_eq!(&q[..4], &[127, 2, 4, -127]);
    assert_eq!(q8_0_block(&[0.0; 32]), (f16::ZERO, [0; 32]));
}

#[test]
fn truncated_and_foreign_inputs_are_refused() {
    let e = Ct2Model::parse(&[6, 0, 0]).err().unwrap();
    assert!(e.to_string().contains("truncated at byte 0"), "{e}");
    let e = Ct2Model::parse(&[99, 0, 0, 0]).err().unwrap();
    assert!(e.to_string().contains("binary version 99"), "{e}");
}
