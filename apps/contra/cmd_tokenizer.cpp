// contra tokenizer train --input FILE --vocab N --out MODEL
// contra tokenizer encode --model MODEL TEXT...
#include <cstdio>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "contra/core/error.h"
#include "contra/data/text.h"
#include "contra/data/tokenizer.h"

namespace contra::app {

Action add_tokenizer(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenizer", "train a SentencePiece tokenizer, or encode text");
  cmd->require_subcommand(1);

  struct TrainArgs {
    std::string input, out, type = "unigram";
    int64_t vocab = 8000, max_sentences = 200000;
    uint64_t seed = 0;
    bool keep_case = false;
  };
  auto t = std::make_shared<TrainArgs>();
  auto* train = cmd->add_subcommand("train", "train a tokenizer on a corpus (one text per line)");
  train->add_option("--input", t->input, "UTF-8 corpus, one text per line")->required();
  train->add_option("--vocab", t->vocab, "vocabulary size (default 8000)");
  train->add_option("--out", t->out, "model file to write, *.model")->required();
  train->add_option("--type", t->type, "unigram or bpe (default unigram)");
  train->add_option("--max-sentences", t->max_sentences,
                    "train on at most N lines, drawn with --seed; 0 = all (default 200000)");
  train->add_option("--seed", t->seed, "seed of the draw of lines (default 0)");
  train->add_flag("--keep-case", t->keep_case, "do not fold case");

  auto model = std::make_shared<std::string>();
  auto texts = std::make_shared<std::vector<std::string>>();
  auto* encode = cmd->add_subcommand("encode", "print the pieces and ids of each text");
  encode->add_option("--model", *model, "tokenizer model (*.model)")->required();
  encode->add_option("text", *texts, "texts to encode")->required();

  return [=]() {
    if (train->parsed()) {
      const auto corpus = data::read_corpus(t->input);
      data::train_tokenizer(corpus, t->out,
                            data::TokenizerTrainOptions(t->vocab)
                                .model(data::tokenizer_model_from_string(t->type))
                                .lowercase(!t->keep_case)
                                .max_sentences(t->max_sentences)
                                .seed(t->seed));
      const auto tok = data::Tokenizer::load(t->out);
      std::printf("trained %s tokenizer on %zu texts: %lld pieces -> %s\n", t->type.c_str(),
                  corpus.size(), (long long)tok.vocab_size(), t->out.c_str());
      return 0;
    }
    const auto tok = data::Tokenizer::load(*model);
    for (const auto& text : *texts) {
      data::check_utf8(text, "argument", 1);
      std::string pieces, ids;
      for (const auto& p : tok.pieces(text)) pieces += (pieces.empty() ? "" : " ") + p;
      for (int id : tok.encode(text)) ids += (ids.empty() ? "" : " ") + std::to_string(id);
      std::printf("%s\n%s\n", pieces.c_str(), ids.c_str());
    }
    return 0;
  };
}

}  // namespace contra::app
