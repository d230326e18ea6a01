use super::*;

#[test]
fn accepts_ordinary_relative_paths() {
    for p in [
        "model.safetensors",
        "config/params.yaml",
        "a/b/c/d.txt",
        "weights-00001-of-00002.bin",
        "ünïcode/файл.txt",
        "a b.txt",
    ] {
        assert_eq!(ArtifactPath::parse(p).unwrap().as_str(), p);
    }
    assert_eq!(
        ArtifactPath::parse("config/params.yaml")
            .unwrap()
            .file_name(),
        "params.yaml"
    );
}

#[test]
fn refuses_traversal_and_ambiguous_paths() {
    let long = "a".repeat(1025);
    let long_segment = format!("{}/x", "b".repeat(256));
    for p in [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/./b",
        "..",
        ".",
        "a//b",
        "a/",
        "a\\b",
        "..\\x",
        "a\0b",
        "a\nb",
        "C:",
        "c:/x",
        &long,
        &long_segment,
        " a/b",
        "a/b ",
    ] {
        assert_eq!(ArtifactPath::parse(p).unwrap_err().field, "path", "{p:?}");
    }
}

#[test]
fn detects_formats_by_magic_then_extension() {
    let p = |s: &str| ArtifactPath::parse(s).unwrap();
    let mut st = 64u64.to_le_bytes().to_vec();
    st.extend_from_slice(b"{\"__metadata__\":{}}");
    assert_eq!(
        ArtifactFormat::detect(&p("weights"), &st, None),
        ArtifactFormat::Safetensors
    );
    assert_eq!(
        ArtifactFormat::detect(&p("m.gguf"), b"GGUF\x03\0\0\0", None),
        ArtifactFormat::Gguf
    );
    assert_eq!(
        ArtifactFormat::detect(&p("x"), b"GGUF", None),
        ArtifactFormat::Gguf
    );
    assert_eq!(
        ArtifactFormat::detect(&p("model.pkl"), b"anything", None),
        ArtifactFormat::Pickle
    );
    assert_eq!(
        ArtifactFormat::detect(&p("data"), &[0x80, 0x04, 0x95], None),
        ArtifactFormat::Pickle
    );
    assert_eq!(
        ArtifactFormat::detect(&p("model.joblib"), b"", None),
        ArtifactFormat::Pickle
    );
    assert_eq!(
        ArtifactFormat::detect(&p("model.pt"), b"PK\x03\x04", None),
        ArtifactFormat::Pytorch
    );
    assert_eq!(
        ArtifactFormat::detect(&p("pytorch_model.bin"), b"PK\x03\x04", None),
        ArtifactFormat::Pytorch
    );
    assert_eq!(
        ArtifactFormat::detect(&p("model.onnx"), b"\x08\x07", None),
        ArtifactFormat::Onnx
    );
    assert_eq!(
        ArtifactFormat::detect(&p("train.py"), b"import torch", None),
        ArtifactFormat::Other
    );
    assert!(ArtifactFormat::Pickle.unsafe_to_load() && ArtifactFormat::Pytorch.unsafe_to_load());
}

#[test]
fn a_crafted_pickle_is_never_labelled_safe() {
    let p = |s: &str| ArtifactPath::parse(s).unwrap();
    // Pickle protocol 2 opcodes whose first 8 bytes also read as a small
    // little-endian length, followed by `{"`: a safetensors look-alike.
    let mut crafted = vec![0x80, 0x02, 0x7d, 0x00, 0x00, 0x00, 0x00, 0x00, b'{', b'"'];
    crafted.extend_from_slice(b"x\": 1}");
    assert!(
        looks_like_safetensors(&crafted, Some(10_000_000)),
        "a real look-alike"
    );
    for name in ["model.safetensors", "weights", "model.onnx"] {
        let f = ArtifactFormat::detect(&p(name), &crafted, Some(10_000_000));
        assert_eq!(f, ArtifactFormat::Pickle, "{name}");
        assert!(f.unsafe_to_load());
    }
    // A .safetensors name on bytes without the format's header is not safetensors.
    assert_eq!(
        ArtifactFormat::detect(
            &p("model.safetensors"),
            b"definitely not a header",
            Some(23)
        ),
        ArtifactFormat::Other
    );
    // A header longer than the file is not one either.
    let mut st = 64u64.to_le_bytes().to_vec();
    st.extend_from_slice(b"{\"a\":1}");
    assert_eq!(
        ArtifactFormat::detect(&p("model.safetensors"), &st, Some(20)),
        ArtifactFormat::Other
    );
    assert_eq!(
        ArtifactFormat::detect(&p("model.safetensors"), &st, Some(72)),
        ArtifactFormat::Safetensors
    );
    // A link's extension is all there is to go on.
    assert_eq!(
        ArtifactFormat::detect(&p("model.safetensors"), b"", None),
        ArtifactFormat::Safetensors
    );
    assert!(
        !ArtifactFormat::Safetensors.unsafe_to_load() && !ArtifactFormat::Gguf.unsafe_to_load()
    );
    for f in [
        ArtifactFormat::Safetensors,
        ArtifactFormat::Onnx,
        ArtifactFormat::Pickle,
        ArtifactFormat::Pytorch,
        ArtifactFormat::Gguf,
        ArtifactFormat::Other,
    ] {
        assert_eq!(ArtifactFormat::parse(f.as_str()), f);
    }
}

#[test]
fn media_types_and_checksums() {
    assert_eq!(
        media_type(&ArtifactPath::parse("c/params.yaml").unwrap()),
        "application/yaml"
    );
    assert_eq!(
        media_type(&ArtifactPath::parse("model.safetensors").unwrap()),
        "application/octet-stream"
    );
    let h = "a".repeat(64);
    assert_eq!(
        parse_sha256("x", &format!("sha256:{}", h.to_uppercase())).unwrap(),
        h
    );
    for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63)] {
        assert!(parse_sha256("x", bad).is_err());
    }
}

#[test]
fn resolves_single_ranges() {
    assert_eq!(parse_range(None, 100), Ok(None));
    assert_eq!(parse_range(Some("bytes=0-9"), 100), Ok(Some((0, 9))));
    assert_eq!(parse_range(Some("bytes=90-"), 100), Ok(Some((90, 99))));
    assert_eq!(parse_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
    assert_eq!(parse_range(Some("bytes=-500"), 100), Ok(Some((0, 99))));
    assert_eq!(parse_range(Some("bytes=50-1000"), 100), Ok(Some((50, 99))));
    assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Ok(None));
    assert_eq!(parse_range(Some("items=0-1"), 100), Ok(None));
    for bad in [
        "bytes=100-",
        "bytes=5-4",
        "bytes=-0",
        "bytes=x-1",
        "bytes=1",
        "bytes=-",
    ] {
        assert_eq!(parse_range(Some(bad), 100), Err(Unsatisfiable), "{bad}");
    }
    assert_eq!(parse_range(Some("bytes=0-0"), 0), Err(Unsatisfiable));
}
