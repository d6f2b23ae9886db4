// A C interface to SentencePiece, built as its own shared library (libcontra_spm.so) and opened
// by src/data/tokenizer.cpp with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece bundles and exports its own protobuf-lite, and LibTorch loads the
// system libprotobuf. Linked into one process normally, libprotobuf's static initialisers bind to
// sentencepiece's copies of the same symbols and crash before main(). Opened this way,
// sentencepiece binds to its own protobuf and nothing else sees its symbols. Only C types cross
// this boundary.
#pragma once
#include <stdint.h>

extern "C" {

typedef struct ContraSpm ContraSpm;

/// Loads a model; null on failure with the reason in err (NUL-terminated, truncated to err_len).
ContraSpm* contra_spm_load(const char* path, char* err, int err_len);
void contra_spm_free(ContraSpm* sp);
/// Vocabulary size and special ids (-1 when the model has none).
void contra_spm_info(const ContraSpm* sp, int* vocab, int* pad, int* unk, int* bos, int* eos);
/// Writes up to cap ids of text[0, len) into ids; returns how many there are (call again with a
/// larger buffer when that exceeds cap), or -1 on failure.
int contra_spm_encode(ContraSpm* sp, const char* text, int len, int* ids, int cap);
/// Writes up to cap bytes of the decoded text (no NUL); returns its length (call again when that
/// exceeds cap), or -1 on failure.
int contra_spm_decode(ContraSpm* sp, const int* ids, int n, char* out, int cap);
/// The piece of an id (owned by the model), or null when out of range.
const char* contra_spm_piece(const ContraSpm* sp, int id);
/// Trains a model: SentencePieceTrainer flags as key/value pairs, texts from memory. Returns 0,
/// or -1 with the reason in err.
int contra_spm_train(const char* const* keys, const char* const* values, int n_args,
                     const char* const* texts, int64_t n_texts, char* err, int err_len);

}  // extern "C"
