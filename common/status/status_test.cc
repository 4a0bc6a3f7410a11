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
  EXPECT_TRUE(status.error_details().empty());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatus, AttachesBadRequestDetails) {
  grpc::Status status = ToGrpcStatus(InvalidField("vendor_id", "is required"));
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc_status;
  ASSERT_TRUE(rpc_status.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc_status.code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(rpc_status.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc_status.details(0).UnpackTo(&bad_request));
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

}  // namespace
}  // namespace prm
