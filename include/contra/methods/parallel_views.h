#pragma once
#include "contra/core/one_thread_workers.h"
#include "contra/losses/output.h"
#include "contra/methods/method.h"

namespace contra::methods {

/// A two-view step (a method's split step, Method::split_step) with the two views encoded at the
/// same time on two cores (`model.parallel_views`), instead of one after the other with both
/// cores splitting each small convolution:
///  1. worker 0 embeds view 1 and worker 1 view 2, each in chunks of split.chunk, with their
///     autograd graphs, each on one intra-op thread; view 2's batch-norm running-statistics
///     updates are held back (models::DeferredBatchNormStats), so the two never update the same
///     buffers at once;
///  2. the calling thread computes the loss on detached copies of the embeddings and its
///     gradient with respect to them (and to any parameter of the loss itself);
///  3. worker 1 replays view 2's held-back statistics updates (after view 1's, as one thread
///     would have made them) and each worker back-propagates its view's embedding gradient.
/// Parameter gradients accumulate into .grad as backward() does (the two views' sums are added in
/// either order, which gives the same floats). Returns the loss's output with the loss detached.
///
/// `workers` null: the same steps on the calling thread, one view after the other. With one
/// intra-op thread everywhere the two give bitwise the same loss, gradients and buffers; both give
/// the loss and buffers of method.forward() and its gradients up to the order of summation (the
/// chunks' parameter gradients are summed per view first). Needs at least 2 workers otherwise.
/// Randomness: the encoders must draw nothing (no dropout): the two threads' order is not fixed.
losses::ContrastiveOutput parallel_views_step(const SplitStep& split, OneThreadWorkers* workers);

}  // namespace contra::methods
