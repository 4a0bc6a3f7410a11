#pragma once

// How prmctl shows protobuf messages to people, generically through reflection: a list as a
// table (columns chosen per resource type, see kColumns in render.cc), one resource as
// `field: value` lines, and a failed call as its status code, message and every
// google.rpc.BadRequest field violation. Values read as people write them: enums without their
// type prefix (DEAL_STATE_APPROVED → APPROVED), Money as "1234.50 EUR", Date as 2026-01-31,
// Timestamp as RFC 3339 UTC, Duration as 90s / 2h.

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace prm::prmctl {

// One field of `message` as text ("" when an unset message). For a repeated field, `index` picks
// the element; index -1 joins all elements with ", " (repeated messages: "(N)").
std::string FormatField(const google::protobuf::Message& message,
                        const google::protobuf::FieldDescriptor* field, int index = -1);

// The value at a dotted path ("protection.expire_time") below `message`; "" when a message on
// the way is unset or a name is unknown.
std::string FormatPath(const google::protobuf::Message& message, std::string_view path);

// The columns a table of `type` shows: the resource's chosen ones, else its first simple fields.
std::vector<std::string> ColumnsOf(const google::protobuf::Descriptor* type);

// Left-aligned columns, upper-case header, two spaces apart; cells longer than 60 characters
// are cut with "…".
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows, std::ostream& out);

// A table of the elements of the repeated message field `field` of `message`.
void PrintRepeatedAsTable(const google::protobuf::Message& message,
                          const google::protobuf::FieldDescriptor* field, std::ostream& out);

// Every set field of `message` as `name: value` lines, nested messages indented; repeated
// messages as "- " lines. With `skip_repeated_messages`, those are left out (shown as tables).
void PrintDetail(const google::protobuf::Message& message, std::ostream& out, int indent = 0,
                 bool skip_repeated_messages = false);

// The response of a call, readably: each repeated message field of the top level as a table,
// otherwise its message fields in detail; the remaining simple fields (next_page_token) as
// `name: value`; "OK" when nothing is set.
void PrintResponse(const google::protobuf::Message& response, std::ostream& out);

// "prmctl: INVALID_ARGUMENT: <message>" and then one "  <field>: <description>" line per
// google.rpc.BadRequest field violation carried by `status`.
void PrintStatus(const grpc::Status& status, std::ostream& err);

// Money (units + nanos) as a double, for plotting.
double MoneyValue(const google::protobuf::Message& money);

}  // namespace prm::prmctl
