#pragma once

// WatchOffers: the pending offers of every worker, kept from the domain's events, and the open
// streams that receive new offers and withdrawals as they happen.
//
// The pending-offer index is derived state: RoutingStore feeds it every domain event in command
// order, on replay too, so a stream opened after a restart still starts with the worker's
// pending offers. Streams get messages only for live commands.
//
// A stream sends every pending offer of its worker first, then each new offer and each
// withdrawal (TIMED_OUT or RESCINDED reservation), with a heartbeat every 15 seconds. Several
// streams of one worker receive the same messages. A stream lives until the client cancels it
// or the drain starts (CloseAll: the stream ends with UNAVAILABLE, and the client reconnects to
// another instance or after the restart).
//
// Thread-safe.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "common/time/clock.h"
#include "grpcpp/support/server_callback.h"
#include "prm/routing/v1/routing_service.pb.h"
#include "services/concierge-routing/domain/router.h"

namespace prm::routing {

class OfferHub {
 public:
  explicit OfferHub(const Clock& clock);
  ~OfferHub();  // requires every stream to be done (the gRPC server has shut down)

  // One domain event of `vendor_id`; `live` = pushed to open streams (false on replay).
  void OnEvent(const std::string& vendor_id, const RoutingEvent& event, bool live);

  // Ends every open stream with UNAVAILABLE, and every stream opened from now on at once: the
  // drain has started (runtime::Runtime::AddStreamCloser).
  void CloseAll();

  // A new stream for the worker's offers.
  grpc::ServerWriteReactor<prm::routing::v1::WatchOffersResponse>* Watch(
      const std::string& vendor_id, const std::string& worker_id);

  class Stream;

 private:
  using WorkerKey = std::pair<std::string, std::string>;  // vendor, worker
  struct PendingOffer {
    WorkerKey worker;
    std::string task_key;  // vendor + "/" + task id
    prm::routing::v1::Offer offer;
  };

  void Remove(Stream* stream);
  void Send(const WorkerKey& worker, const prm::routing::v1::WatchOffersResponse& message);
  void Heartbeats();

  const Clock& clock_;
  std::mutex mu_;
  // By vendor + "/" + reservation id.
  std::map<std::string, PendingOffer> pending_;
  std::map<std::string, std::set<std::string>> pending_by_task_;
  std::multimap<WorkerKey, Stream*> streams_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool closed_ = false;  // CloseAll ran
  std::thread heartbeat_;
};

}  // namespace prm::routing
