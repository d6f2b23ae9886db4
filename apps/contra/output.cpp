// Output shared by subcommands.
#include <cstdio>

#include "commands.h"
#include "contra/run/experiment.h"

namespace contra::app {

void print_retrieval(const run::EvalResult& r) {
  auto line = [](const char* name, const eval::RetrievalMetrics& m) {
    std::printf("%-10s recall_at_1 %.4f  recall_at_10 %.4f  mrr %.4f\n", name, m.recall_at_1,
                m.recall_at_10, m.mrr);
  };
  std::printf("gloss retrieval, %s split: %lld example sentences, %lld glosses\n",
              r.split.c_str(), (long long)r.trained.queries, (long long)r.trained.documents);
  line("trained", r.trained);
  line("tf-idf", r.tfidf);
  line("untrained", r.untrained);
}

}  // namespace contra::app
