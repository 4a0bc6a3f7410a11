#include "services/partner-registry/adapters/event_mapping.h"

#include <cstdio>
#include <random>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/events/kafka_binding.h"
#include "common/events/payload.h"
#include "common/status/status_macros.h"
#include "common/storage/outbox.h"
#include "prm/partner/v1/partner_events.pb.h"
#include "services/partner-registry/adapters/proto_mapping.h"

namespace prm::partner {
namespace {

namespace pb = ::prm::partner::v1;

template <typename M>
M* Fill(EncodedEvent& out, std::string name, std::string key) {
  auto message = std::make_unique<M>();
  M* raw = message.get();
  out.type = absl::StrCat("prm.partner.", name, ".v1");
  out.key = std::move(key);
  out.payload = std::move(message);
  return raw;
}

void FillMeta(const EventMeta& meta, const EventContext& context, const std::string& event_id,
              common::v1::EventMetadata* out) {
  out->set_event_id(event_id);
  out->set_vendor_id(meta.vendor_id);
  out->set_aggregate_version(meta.aggregate_version);
  ToProto(meta.time, out->mutable_event_time());
  *out->mutable_actor() = context.actor;
  out->set_request_id(context.request_id);
}

void Snapshot(const PartnerDirectory& directory, const EventMeta& meta, pb::Enrollment* out) {
  absl::StatusOr<Enrollment> e = directory.GetEnrollment(meta.vendor_id, meta.partner_id);
  if (e.ok()) ToProto(*e, meta.time, out);
}

}  // namespace

std::string NewEventId() {
  thread_local absl::BitGen gen;
  const uint64_t hi = absl::Uniform<uint64_t>(gen);
  const uint64_t lo = absl::Uniform<uint64_t>(gen);
  const uint64_t h = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  const uint64_t l = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(h >> 32),
                static_cast<unsigned>((h >> 16) & 0xFFFF), static_cast<unsigned>(h & 0xFFFF),
                static_cast<unsigned>(l >> 48),
                static_cast<unsigned long long>(l & 0xFFFFFFFFFFFFULL));
  return buf;
}

EncodedEvent EncodeEvent(const DomainEvent& event, const PartnerDirectory& directory,
                         const EventContext& context, const std::string& event_id) {
  EncodedEvent out;
  const EventMeta& meta = MetaOf(event);
  const absl::Time now = meta.time;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, PartnerCreated>) {
          auto* m = Fill<pb::PartnerCreated>(out, "PartnerCreated", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          ToProto(e.partner, m->mutable_partner());
          m->set_creator_vendor_id(e.creator_vendor_id);
        } else if constexpr (std::is_same_v<T, PartnerUpdated>) {
          auto* m = Fill<pb::PartnerUpdated>(out, "PartnerUpdated", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          ToProto(e.partner, m->mutable_partner());
          for (const auto& p : context.changed_paths) m->add_changed_paths(p);
        } else if constexpr (std::is_same_v<T, PartnerDeleted>) {
          auto* m = Fill<pb::PartnerDeleted>(out, "PartnerDeleted", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
        } else if constexpr (std::is_same_v<T, ProgramCreated>) {
          auto* m = Fill<pb::ProgramCreated>(out, "ProgramCreated", e.program.program_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          ToProto(e.program, m->mutable_program());
        } else if constexpr (std::is_same_v<T, ProgramUpdated>) {
          auto* m = Fill<pb::ProgramUpdated>(out, "ProgramUpdated", e.program.program_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          ToProto(e.program, m->mutable_program());
          for (const auto& p : context.changed_paths) m->add_changed_paths(p);
        } else if constexpr (std::is_same_v<T, ProgramDeleted>) {
          auto* m = Fill<pb::ProgramDeleted>(out, "ProgramDeleted", e.program_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_program_id(e.program_id);
        } else if constexpr (std::is_same_v<T, EnrollmentStateChanged>) {
          auto* m = Fill<pb::EnrollmentStateChanged>(out, "EnrollmentStateChanged", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          m->set_from_state(static_cast<pb::EnrollmentState>(e.from));
          m->set_to_state(static_cast<pb::EnrollmentState>(e.to));
          m->set_reason(e.reason);
          Snapshot(directory, meta, m->mutable_enrollment());
        } else if constexpr (std::is_same_v<T, EnrollmentUpdated>) {
          auto* m = Fill<pb::EnrollmentUpdated>(out, "EnrollmentUpdated", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          Snapshot(directory, meta, m->mutable_enrollment());
          for (const auto& p : e.changed_paths) m->add_changed_paths(p);
        } else if constexpr (std::is_same_v<T, TierChanged>) {
          auto* m = Fill<pb::TierChanged>(out, "TierChanged", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          m->set_program_id(e.program_id);
          m->set_from_tier_id(e.from_tier_id);
          m->set_from_tier_rank(e.from_tier_rank);
          m->set_to_tier_id(e.to_tier_id);
          m->set_to_tier_rank(e.to_tier_rank);
          if (e.to_tier_benefits.has_value()) {
            ToProto(*e.to_tier_benefits, m->mutable_to_tier_benefits());
          }
          ToProto(e.evaluation, m->mutable_evaluation());
          if (e.grace_start_time.has_value()) {
            ToProto(*e.grace_start_time, m->mutable_grace_start_time());
          }
        } else if constexpr (std::is_same_v<T, CompetencyGranted>) {
          auto* m = Fill<pb::CompetencyGranted>(out, "CompetencyGranted", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          ToProto(e.competency, now, m->mutable_competency());
        } else if constexpr (std::is_same_v<T, CompetencyRenewed>) {
          auto* m = Fill<pb::CompetencyRenewed>(out, "CompetencyRenewed", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          ToProto(e.competency, now, m->mutable_competency());
          ToProto(e.previous_expire_time, m->mutable_previous_expire_time());
        } else if constexpr (std::is_same_v<T, CompetencyRevoked>) {
          auto* m = Fill<pb::CompetencyRevoked>(out, "CompetencyRevoked", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          ToProto(e.competency, now, m->mutable_competency());
        } else if constexpr (std::is_same_v<T, CompetencyExpiring>) {
          auto* m = Fill<pb::CompetencyExpiring>(out, "CompetencyExpiring", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          ToProto(e.competency, now, m->mutable_competency());
          ToProto(e.notice, m->mutable_notice());
        } else if constexpr (std::is_same_v<T, CompetencyExpired>) {
          auto* m = Fill<pb::CompetencyExpired>(out, "CompetencyExpired", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          ToProto(e.competency, now, m->mutable_competency());
        } else if constexpr (std::is_same_v<T, ConciergeAssigned>) {
          auto* m = Fill<pb::ConciergeAssigned>(out, "ConciergeAssigned", meta.partner_id);
          FillMeta(meta, context, event_id, m->mutable_metadata());
          m->set_partner_id(meta.partner_id);
          m->set_previous_worker_id(e.previous_worker_id);
          m->set_worker_id(e.worker_id);
        }
      },
      event);
  return out;
}

absl::Status AppendToOutbox(sqlite::Transaction& tx, const Events& events,
                            const PartnerDirectory& directory, const EventContext& context) {
  for (const DomainEvent& event : events) {
    const std::string id = NewEventId();
    EncodedEvent encoded = EncodeEvent(event, directory, context, id);
    const absl::Time time = MetaOf(event).time;
    RETURN_IF_ERROR(outbox::Append(
        tx,
        events::EncodeBinary(events::MakeEvent(*encoded.payload, encoded.type, context.source, id,
                                               time, encoded.key),
                             context.topic),
        time));
  }
  return absl::OkStatus();
}

}  // namespace prm::partner
