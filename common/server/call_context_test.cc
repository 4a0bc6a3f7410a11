#include "common/server/call_context.h"

#include "gtest/gtest.h"

namespace prm::server {
namespace {

TEST(TraceIdFromTraceparent, ReadsTheTraceIdOfAValidVersion00Header) {
  EXPECT_EQ(TraceIdFromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceIdFromTraceparent, AcceptsLaterVersionsWithExtraFields) {
  EXPECT_EQ(TraceIdFromTraceparent(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceIdFromTraceparent, RejectsMalformedHeaders) {
  for (const char* bad : {
           "",
           "garbage",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",          // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",       // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",       // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",       // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // 00 has no extras
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",       // wrong separators
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",       // not hex
       }) {
    EXPECT_EQ(TraceIdFromTraceparent(bad), "") << bad;
  }
}

TEST(IsUsableRequestId, AcceptsVisibleAsciiUpTo128Characters) {
  EXPECT_TRUE(IsUsableRequestId("req-123"));
  EXPECT_TRUE(IsUsableRequestId("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(IsUsableRequestId(std::string(128, 'a')));
  EXPECT_FALSE(IsUsableRequestId(""));
  EXPECT_FALSE(IsUsableRequestId(std::string(129, 'a')));
  EXPECT_FALSE(IsUsableRequestId("has space"));
  EXPECT_FALSE(IsUsableRequestId("new\nline"));
  EXPECT_FALSE(IsUsableRequestId("caf\xc3\xa9"));
}

}  // namespace
}  // namespace prm::server
