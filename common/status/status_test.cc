#include "common/status/error_info.h"
#include "common/status/field_violations.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/status_matchers.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace prm {
namespace {

using ::prm::testing::IsOk;
using ::prm::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST(StatusMacros, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_THAT(Quarter(8), IsOk());
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument, "odd"));
}

TEST(StatusMacros, ReturnIfErrorStopsOnError) {
  EXPECT_THAT(CheckEven(4), IsOk());
  EXPECT_THAT(CheckEven(3), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FieldViolations, EmptyIsOk) {
  FieldViolations bad;
  EXPECT_TRUE(bad.empty());
  EXPECT_THAT(bad.ToStatus(), IsOk());
}

TEST(FieldViolations, NamesEveryFieldInMessageAndPayload) {
  FieldViolations bad;
  bad.Add("partner_id", "is required");
  bad.Add("lines[0].amount", "must not be negative");
  absl::Status status = bad.ToStatus("deal is incomplete");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("partner_id is required")));
  EXPECT_THAT(status.message(), HasSubstr("lines[0].amount must not be negative"));
  EXPECT_THAT(FieldViolationsOf(status),
              ElementsAre(FieldViolation{"partner_id", "is required"},
                          FieldViolation{"lines[0].amount", "must not be negative"}));
}

TEST(GrpcStatus, MapsCodeAndMessage) {
  grpc::Status status = ToGrpcStatus(absl::NotFoundError("deal d-1 not found"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "deal d-1 not found");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

// The google.rpc.ErrorInfo detail of `status`, or an empty one.
google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  google::rpc::ErrorInfo info;
  if (!rpc_status.ParseFromString(status.error_details())) return info;
  for (const auto& detail : rpc_status.details()) {
    if (detail.UnpackTo(&info)) return info;
  }
  return info;
}

TEST(GrpcStatus, EveryClientFacingCodeCarriesAReasonInTheGivenDomain) {
  const std::pair<absl::Status, std::string> cases[] = {
      {absl::InvalidArgumentError("x"), "INVALID_FIELD"},
      {absl::NotFoundError("x"), "NOT_FOUND"},
      {absl::AlreadyExistsError("x"), "DUPLICATE"},
      {absl::PermissionDeniedError("x"), "ACCESS_DENIED"},
      {absl::UnauthenticatedError("x"), "INVALID_TOKEN"},
      {absl::AbortedError("x"), "STALE_ETAG"},
      {absl::FailedPreconditionError("x"), "ILLEGAL_STATE_TRANSITION"},
      {absl::ResourceExhaustedError("x"), "LIMIT_EXCEEDED"},
      {absl::UnavailableError("x"), "SERVICE_UNAVAILABLE"},
  };
  for (const auto& [status, reason] : cases) {
    const google::rpc::ErrorInfo info = ErrorInfoOf(ToGrpcStatus(status, "prm.deal.v1"));
    EXPECT_EQ(info.reason(), reason) << status;
    EXPECT_EQ(info.domain(), "prm.deal.v1") << status;
  }
  EXPECT_EQ(ErrorInfoOf(ToGrpcStatus(absl::NotFoundError("x"))).domain(), "prm");
}

TEST(GrpcStatus, ServerFailuresCarryNoReasonAndNoDetails) {
  for (const absl::Status& status : {absl::InternalError("x"), absl::UnknownError("x"),
                                     absl::DataLossError("x"), absl::CancelledError("x")}) {
    EXPECT_EQ(ToGrpcStatus(status).error_details(), "") << status;
  }
}

TEST(GrpcStatus, AnExplicitReasonOverridesTheDefaultAndSurvivesTheRoundTrip) {
  const absl::Status status =
      WithReason(absl::FailedPreconditionError("program has enrollments"), "IN_USE");
  EXPECT_EQ(ErrorInfoOf(ToGrpcStatus(status)).reason(), "IN_USE");
  EXPECT_EQ(ErrorReasonOf(FromGrpcStatus(ToGrpcStatus(status))), "IN_USE");
  EXPECT_EQ(ErrorReasonOf(FromGrpcStatus(ToGrpcStatus(absl::AbortedError("x")))), "STALE_ETAG");
  EXPECT_THAT(WithReason(absl::OkStatus(), "IN_USE"), IsOk());
}

TEST(GrpcStatus, RetryDelayTravelsAsRetryInfo) {
  const absl::Status status = WithReason(
      WithRetryDelay(absl::ResourceExhaustedError("slow down"), absl::Milliseconds(1250)),
      kReasonRateLimited);
  const grpc::Status wire = ToGrpcStatus(status);
  google::rpc::Status rpc_status;
  ASSERT_TRUE(rpc_status.ParseFromString(wire.error_details()));
  google::rpc::RetryInfo retry;
  bool found = false;
  for (const auto& detail : rpc_status.details()) found |= detail.UnpackTo(&retry);
  ASSERT_TRUE(found);
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 250'000'000);
  EXPECT_EQ(ErrorInfoOf(wire).reason(), "RATE_LIMITED");
  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(RetryDelayOf(back), absl::Milliseconds(1250));
  EXPECT_EQ(ErrorReasonOf(back), "RATE_LIMITED");
  EXPECT_EQ(RetryDelayOf(absl::ResourceExhaustedError("x")), std::nullopt);
}

TEST(GrpcStatus, AttachesBadRequestDetails) {
  grpc::Status status = ToGrpcStatus(InvalidField("vendor_id", "is required"));
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc_status;
  ASSERT_TRUE(rpc_status.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc_status.code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(rpc_status.details_size(), 2);  // BadRequest, then ErrorInfo
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc_status.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(ErrorInfoOf(status).reason(), "INVALID_FIELD");
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "vendor_id");
}

TEST(GrpcStatus, RoundTripKeepsViolations) {
  FieldViolations bad;
  bad.Add("a", "x");
  bad.Add("b", "y");
  absl::Status back = FromGrpcStatus(ToGrpcStatus(bad.ToStatus()));
  EXPECT_THAT(back, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FieldViolationsOf(back), bad.violations());
}

// A request with thousands of bad fields, or a 10 KiB id echoed in the message, still gets trailers
// a default gRPC client accepts (8 KiB of metadata): the first violations, cut, and a count.
TEST(GrpcStatus, TrailersStayWithinWhatADefaultClientAccepts) {
  FieldViolations bad;
  for (int i = 0; i < 5000; ++i) {
    bad.Add(absl::StrCat("ids[", i, "]"), std::string(1000, 'x'));
  }
  const grpc::Status wire = ToGrpcStatus(bad.ToStatus("request is invalid"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(wire.error_message().size(), kMaxStatusMessageBytes + 100);
  // The details repeat the message beside the BadRequest and ErrorInfo.
  EXPECT_LE(wire.error_details().size(), kMaxStatusMessageBytes + kMaxBadRequestBytes + 300);
  EXPECT_THAT(wire.error_message(), HasSubstr("more field violations not listed"));
  const std::vector<FieldViolation> kept = FieldViolationsOf(FromGrpcStatus(wire));
  ASSERT_GE(kept.size(), 1u);
  EXPECT_EQ(kept[0].field, "ids[0]");
  EXPECT_LE(kept[0].description.size(), kMaxViolationDescriptionBytes + 30);
  EXPECT_THAT(kept[0].description, HasSubstr("(1000 bytes)"));

  // A long message is cut on a code point boundary: what is left is still UTF-8.
  std::string japanese;
  for (int i = 0; i < 2000; ++i) japanese += "\u540d";  // 3 bytes each
  const grpc::Status cut = ToGrpcStatus(absl::NotFoundError(japanese));
  EXPECT_LT(cut.error_message().size(), kMaxStatusMessageBytes + 30);
  EXPECT_EQ(cut.error_message().substr(0, 3), "\u540d");
  EXPECT_THAT(cut.error_message(), HasSubstr("\u540d... (6000 bytes)"));
}

}  // namespace
}  // namespace prm
