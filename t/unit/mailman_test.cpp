// mailman_test.cpp - MailmanProxy's pure parts (mailman_list.hpp): which names
// are list names, which recipients are list recipients, and the message as
// Mailman gets it.  The delivery itself (commands, relay) is in
// t/mailman.bats.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "smtpd/mailman_list.hpp"

namespace smtpd {
namespace {

using namespace std::string_literals;

// --- is_list_name -------------------------------------------------------

struct NameCase {
  std::string name;
  bool expected;
};

TEST(IsListName, Table) {
  const NameCase cases[] = {
      // Mailman 2's ACCEPTABLE_LISTNAME_CHARACTERS: [-+_.=a-z0-9].
      {"test", true},
      {"a", true},
      {"0", true},
      {"list2", true},
      {"my-list", true},
      {"my_list", true},
      {"my.list", true},
      {"my+list", true},
      {"a=b", true},
      {"a.b.c", true},
      {"x-", true},
      {"x.", true},
      {"abcdefghijklmnopqrstuvwxyz0123456789-+_.=", true},
      // Nothing at all.
      {"", false},
      // Never an option: no leading '-'.
      {"-", false},
      {"-x", false},
      {"--help", false},
      // Never a path: no leading '.', no "..", no '/'.
      {".", false},
      {"..", false},
      {"...", false},
      {".x", false},
      {"../x", false},
      {"x/..", false},
      {"a..b", false},
      {"x..", false},
      {"a/b", false},
      {"/x", false},
      {"x/", false},
      {"a\\b", false},
      // Lower case only (the caller lowers the local part).
      {"Test", false},
      {"TEST", false},
      // Outside the set: spaces, quotes, NUL, control and 8-bit bytes,
      // shell and template characters.
      {"x y", false},
      {" x", false},
      {"x ", false},
      {"\"x\"", false},
      {"x\ty", false},
      {"x\ny", false},
      {"list\0"s, false},
      {"\0list"s, false},
      {"li\0st"s, false},
      {"caf\xc3\xa9", false},
      {"x\x7f", false},
      {"x;y", false},
      {"$(x)", false},
      {"`x`", false},
      {"x|y", false},
      {"x&y", false},
      {"x*", false},
      {"x?", false},
      {"x~", false},
      {"x@y", false},
      {"x%y", false},
      {"x!y", false},
      {"x'y", false},
      {"x:y", false},
      {"x,y", false},
      {"{list}", false},
      {"{command}", false},
  };
  for (const NameCase& c : cases)
    EXPECT_EQ(is_list_name(c.name), c.expected)
        << "name \"" << c.name << "\" (" << c.name.size() << " bytes)";
}

// --- classify_recipient ------------------------------------------------------

// A fake Mailman: the lists that exist, and every name it was asked about.
struct FakeLists {
  explicit FakeLists(std::set<std::string> names = {})
      : lists(std::move(names)) {}

  std::set<std::string> lists;
  std::vector<std::string> asked;
  bool all = false;  // every name exists

  std::function<bool(const std::string&)> exists() {
    return [this](const std::string& list) {
      asked.push_back(list);
      return all || lists.count(list) != 0;
    };
  }
};

struct RecipientCase {
  std::string address;
  std::optional<ListRecipient> expected;
};

std::string describe(const std::optional<ListRecipient>& r) {
  return r ? "{" + r->list + ", " + r->command + "}" : "not a list";
}

void check_recipients(FakeLists& fake,
                      const std::vector<RecipientCase>& cases) {
  for (const RecipientCase& c : cases) {
    const std::optional<ListRecipient> got =
        classify_recipient(c.address, fake.exists());
    EXPECT_EQ(describe(got), describe(c.expected)) << "address " << c.address;
  }
}

TEST(ClassifyRecipient, EachSuffixAnyCaseAnyDomain) {
  FakeLists fake{{"test", "my-list", "a.b"}};
  check_recipients(
      fake,
      {
          {"test@example.org", ListRecipient{"test", "post"}},
          {"test-admin@example.org", ListRecipient{"test", "admin"}},
          {"test-owner@example.org", ListRecipient{"test", "owner"}},
          {"test-request@example.org", ListRecipient{"test", "request"}},
          {"test-join@example.org", ListRecipient{"test", "join"}},
          {"test-leave@example.org", ListRecipient{"test", "leave"}},
          // Any case, in the list name and the suffix; the list is lower case.
          {"Test-Admin@x", ListRecipient{"test", "admin"}},
          {"TEST@EXAMPLE.ORG", ListRecipient{"test", "post"}},
          {"tEsT-ReQuEsT@Example.Net", ListRecipient{"test", "request"}},
          {"TEST-JOIN@x", ListRecipient{"test", "join"}},
          {"Test-Leave@x", ListRecipient{"test", "leave"}},
          {"test-OWNER@x", ListRecipient{"test", "owner"}},
          // Any domain, or none; the local part ends at the first '@'.
          {"test@other.example", ListRecipient{"test", "post"}},
          {"test@[192.0.2.1]", ListRecipient{"test", "post"}},
          {"test", ListRecipient{"test", "post"}},
          {"test-admin", ListRecipient{"test", "admin"}},
          {"test@", ListRecipient{"test", "post"}},
          {"test@a@b", ListRecipient{"test", "post"}},
          // List names with '-' and '.' keep their suffixes apart.
          {"my-list@x", ListRecipient{"my-list", "post"}},
          {"my-list-request@x", ListRecipient{"my-list", "request"}},
          {"My-List-Leave@x", ListRecipient{"my-list", "leave"}},
          {"a.b-owner@x", ListRecipient{"a.b", "owner"}},
      });
}

TEST(ClassifyRecipient, NotLists) {
  FakeLists fake{{"test", "my-list"}};
  check_recipients(
      fake, {
                // Unknown lists, and unknown suffixes of known ones.
                {"nolist@example.org", std::nullopt},
                {"nolist-admin@example.org", std::nullopt},
                {"test-bounces@example.org", std::nullopt},
                {"test-confirm@example.org", std::nullopt},
                {"test-subscribe@example.org", std::nullopt},
                {"test-post@example.org", std::nullopt},
                {"test-admin-admin@x", std::nullopt},
                {"testadmin@x", std::nullopt},
                {"test_admin@x", std::nullopt},
                {"test.admin@x", std::nullopt},
                {"my@x", std::nullopt},
                {"list-admin@x", std::nullopt},
                // A bare suffix, or a suffix with nothing before the '-'.
                {"admin@x", std::nullopt},
                {"-admin@x", std::nullopt},
                {"-request@x", std::nullopt},
                // The list is the local part, never the domain.
                {"someone@test", std::nullopt},
                {"someone@test-admin", std::nullopt},
                // Empty.
                {"", std::nullopt},
                {"@example.org", std::nullopt},
                {"<>", std::nullopt},
                // Quoted forms that keep their quotes are not lists.
                {"\"test\"@x", std::nullopt},
            });
}

TEST(ClassifyRecipient, HostileLocalPartsAreNotListsEvenIfTheyExist) {
  // Every name "exists" (a directory of that name could be there): the
  // name alone must rule these out, and they are never looked up.
  FakeLists fake;
  fake.all = true;
  const std::string hostile[] = {
      "../x",
      "-x",
      ".x",
      "a/b",
      "x y",
      "..",
      ".",
      "...",
      "../../etc/passwd",
      "a/../b",
      "x/",
      "/x",
      "..-admin",
      ".-request",
      "../x-admin",
      "a/b-join",
      "x y-leave",
      "-x-owner",
      "list\0"s,
      "list\0-admin"s,
      "li\0st"s,
      "\"x y\"",
      "x\ty",
      "x\ny",
      "x;touch y",
      "$(x)",
      "`x`",
      "x|y",
      "caf\xc3\xa9",
      "\xff",
      "{list}",
      "-",
  };
  for (const std::string& local : hostile) {
    for (const std::string& address : {local + "@example.org", local}) {
      fake.asked.clear();
      EXPECT_EQ(describe(classify_recipient(address, fake.exists())),
                "not a list")
          << "address \"" << address << "\" (" << address.size() << " bytes)";
      for (const std::string& name : fake.asked)
        EXPECT_TRUE(is_list_name(name))
            << "looked up \"" << name << "\" for " << address;
    }
  }
}

TEST(ClassifyRecipient, HostileNamesNeverReachTheLookup) {
  FakeLists fake;
  fake.all = true;
  for (const std::string& address :
       {"../x@y"s, "-x@y"s, ".x@y"s, "a/b@y"s, "x y@y"s, "..@y"s, "list\0@y"s,
        "../x-admin@y"s, "-x-request@y"s}) {
    fake.asked.clear();
    classify_recipient(address, fake.exists());
    std::string asked;
    for (const std::string& name : fake.asked) asked += "[" + name + "]";
    // "../x-admin": neither "../x" nor "../x-admin" may be asked about;
    // "-x-request": neither "-x" nor "-x-request".
    EXPECT_EQ(asked, "") << "address " << address;
  }
}

TEST(ClassifyRecipient, UpperCaseIsLoweredBeforeTheLookup) {
  // A list that exists only in lower case is found from any case, and a
  // name is only ever looked up in lower case (Mailman's list names are).
  FakeLists lower{{"test"}};
  EXPECT_EQ(describe(classify_recipient("TEST@x", lower.exists())),
            "{test, post}");
  for (const std::string& name : lower.asked) EXPECT_EQ(name, "test");
  FakeLists upper{{"TEST", "Test"}};
  EXPECT_EQ(describe(classify_recipient("TEST@x", upper.exists())),
            "not a list");
  EXPECT_EQ(describe(classify_recipient("Test-Admin@x", upper.exists())),
            "not a list");
  for (const std::string& name : upper.asked)
    for (const char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
}

TEST(ClassifyRecipient, SuffixOfAnExistingListWinsOverAListNamedLikeIt) {
  // "test-admin" is test's admin address even when a list "test-admin"
  // exists too; when only "foo-admin" exists, foo-admin@ is its post.
  FakeLists fake{{"test", "test-admin", "foo-admin"}};
  check_recipients(
      fake, {
                {"test-admin@x", ListRecipient{"test", "admin"}},
                {"foo-admin@x", ListRecipient{"foo-admin", "post"}},
                {"foo-admin-request@x", ListRecipient{"foo-admin", "request"}},
            });
}

TEST(ClassifyRecipient, AsksOnlyWhatItNeeds) {
  // test-admin: "test" answers it; nolist-owner: "nolist", then
  // "nolist-owner" as a list of its own.
  FakeLists fake{{"test"}};
  classify_recipient("test-admin@x", fake.exists());
  EXPECT_EQ(fake.asked, (std::vector<std::string>{"test"}));
  fake.asked.clear();
  classify_recipient("nolist-owner@x", fake.exists());
  EXPECT_EQ(fake.asked, (std::vector<std::string>{"nolist", "nolist-owner"}));
  fake.asked.clear();
  classify_recipient("plain@x", fake.exists());
  EXPECT_EQ(fake.asked, (std::vector<std::string>{"plain"}));
}

// --- list_message
// --------------------------------------------------------------

struct MessageCase {
  const char* what;
  std::string data;
  std::string command;
  std::string expected;
};

constexpr const char* from_line = "sender@example.com";
constexpr const char* date = "Sun, 22 Nov 2026 23:45:00 +0100";

void check_messages(const std::vector<MessageCase>& cases) {
  for (const MessageCase& c : cases)
    EXPECT_EQ(list_message(c.data, from_line, date, c.command), c.expected)
        << c.what << " (" << c.command << ")";
}

TEST(ListMessage, FromAndDateAddedWhenMissing) {
  check_messages({
      {"neither", "Subject: hi\nTo: test@x\n\nbody\nline 2", "post",
       "Subject: hi\nTo: test@x\nFrom: sender@example.com\n"
       "Date: Sun, 22 Nov 2026 23:45:00 +0100\n\nbody\nline 2"},
      {"From only", "From: Me <me@x>\nSubject: hi\n\nbody", "post",
       "From: Me <me@x>\nSubject: hi\nDate: Sun, 22 Nov 2026 23:45:00 "
       "+0100\n\nbody"},
      {"Date only", "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody", "post",
       "Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: "
       "sender@example.com\n\nbody"},
      {"both kept as they are", "Date: yesterday\nFrom: me\nSubject: s\n\nbody",
       "post", "Date: yesterday\nFrom: me\nSubject: s\n\nbody"},
      {"both kept for admin", "From: me\nDate: d\n\nb", "admin",
       "From: me\nDate: d\n\nb"},
      {"both kept for owner", "From: me\nDate: d\n\nb", "owner",
       "From: me\nDate: d\n\nb"},
      {"both kept for request", "From: me\nDate: d\n\nb", "request",
       "From: me\nDate: d\n\nb"},
  });
}

TEST(ListMessage, HeaderNamesAnyCase) {
  check_messages({
      {"upper case", "FROM: me\nDATE: d\n\nb", "post",
       "FROM: me\nDATE: d\n\nb"},
      {"lower case", "from: me\ndate: d\n\nb", "post",
       "from: me\ndate: d\n\nb"},
      {"mixed, no space", "fRoM:me\ndAtE:d\n\nb", "post",
       "fRoM:me\ndAtE:d\n\nb"},
      {"empty values still count", "From:\nDate:\n\nb", "post",
       "From:\nDate:\n\nb"},
  });
}

TEST(ListMessage, LookalikesAreNotFromOrDate) {
  const std::string added =
      "From: sender@example.com\nDate: Sun, 22 Nov 2026 23:45:00 +0100\n";
  check_messages({
      {"longer names", "From-Address: x\nDated: y\nFromage: z\n\nb", "post",
       "From-Address: x\nDated: y\nFromage: z\n" + added + "\nb"},
      {"prefixed names", "X-From: x\nResent-Date: y\nReply-From: z\n\nb",
       "post", "X-From: x\nResent-Date: y\nReply-From: z\n" + added + "\nb"},
      {"in the body only", "Subject: s\n\nFrom: me\nDate: d", "post",
       "Subject: s\n" + added + "\nFrom: me\nDate: d"},
      {"in a continuation line", "Subject: s\n From: me\n\tDate: d\n\nb",
       "post", "Subject: s\n From: me\n\tDate: d\n" + added + "\nb"},
      {"without a colon", "From me\nDate\n\nb", "post",
       "From me\nDate\n" + added + "\nb"},
      {"the name as a value", "Subject: From: x\nX: Date: y\n\nb", "post",
       "Subject: From: x\nX: Date: y\n" + added + "\nb"},
  });
}

TEST(ListMessage, JoinAndLeaveSetTheSubject) {
  const std::string kept = "From: me\nDate: d\n";
  check_messages({
      {"no Subject", kept + "\nbody", "join",
       kept + "Subject: subscribe\n\nbody"},
      {"no Subject", kept + "\nbody", "leave",
       kept + "Subject: unsubscribe\n\nbody"},
      {"Subject replaced", "Subject: please add me\n" + kept + "\nbody", "join",
       kept + "Subject: subscribe\n\nbody"},
      {"Subject replaced", "Subject: please remove me\n" + kept + "\nbody",
       "leave", kept + "Subject: unsubscribe\n\nbody"},
      {"folded Subject replaced with its continuation lines",
       "To: t\nSubject: a long\n subject\n\tfolded twice\n" + kept + "\nbody",
       "join", "To: t\n" + kept + "Subject: subscribe\n\nbody"},
      {"folded Subject last", kept + "SUBJECT: x\n y\n\nbody", "leave",
       kept + "Subject: unsubscribe\n\nbody"},
      {"any case", "subject: x\n" + kept + "\nb", "join",
       kept + "Subject: subscribe\n\nb"},
      {"two Subjects, both replaced by one",
       "Subject: a\n" + kept + "Subject: b\n\nb", "join",
       kept + "Subject: subscribe\n\nb"},
      {"continuation of the next header kept",
       "Subject: s\nX-Long: one\n two\n" + kept + "\nb", "join",
       "X-Long: one\n two\n" + kept + "Subject: subscribe\n\nb"},
      {"Subject in the body stays", kept + "\nSubject: body text\n more",
       "join", kept + "Subject: subscribe\n\nSubject: body text\n more"},
      {"Subject-like names stay", "Subjects: x\nX-Subject: y\n" + kept + "\nb",
       "join",
       "Subjects: x\nX-Subject: y\n" + kept + "Subject: subscribe\n\nb"},
      {"From and Date added as well", "Subject: x\n\nb", "join",
       "From: sender@example.com\nDate: Sun, 22 Nov 2026 23:45:00 +0100\n"
       "Subject: subscribe\n\nb"},
  });
}

TEST(ListMessage, SubjectKeptForTheOtherCommands) {
  for (const char* command : {"post", "admin", "owner", "request"}) {
    check_messages({
        {"Subject kept", "Subject: a\n folded\nFrom: me\nDate: d\n\nb", command,
         "Subject: a\n folded\nFrom: me\nDate: d\n\nb"},
    });
  }
}

TEST(ListMessage, Shapes) {
  const std::string added =
      "From: sender@example.com\nDate: Sun, 22 Nov 2026 23:45:00 +0100\n";
  check_messages({
      {"empty message", "", "post", added},
      {"empty message", "", "join", added + "Subject: subscribe\n"},
      {"no headers: starts with the empty line", "\nbody\nmore", "post",
       added + "\nbody\nmore"},
      {"no headers", "\nbody", "leave", added + "Subject: unsubscribe\n\nbody"},
      {"no body, no final line end", "Subject: s", "post",
       "Subject: s\n" + added},
      // Nothing to add: the header section gets its final line end.
      {"no body, no final line end", "From: me\nDate: d", "post",
       "From: me\nDate: d\n"},
      {"no body, one line end", "Subject: s\n", "post", "Subject: s\n" + added},
      {"empty body", "Subject: s\n\n", "post", "Subject: s\n" + added + "\n"},
      {"only a Subject", "Subject: s", "join", added + "Subject: subscribe\n"},
      {"body with empty lines", "Subject: s\n\n\nx\n\ny\n", "post",
       "Subject: s\n" + added + "\n\nx\n\ny\n"},
      {"8-bit and NUL bytes pass", "Subject: caf\xc3\xa9\n\n\xff\0x"s, "post",
       "Subject: caf\xc3\xa9\n" + added + "\n\xff\0x"s},
  });
}

TEST(ListMessage, CrLfLineEnds) {
  // A CR before each LF (the client sent CR CR LF) is tolerated: the
  // header section still ends at the empty line, From:/Date: are still
  // recognised, and the lines are passed on as they came.
  check_messages({
      {"headers recognised", "From: me\r\nDate: d\r\n\r\nbody\r\n", "post",
       "From: me\r\nDate: d\r\n\r\nbody\r\n"},
      {"added before the empty line", "Subject: s\r\n\r\nFrom: body\r\n",
       "post",
       "Subject: s\r\nFrom: sender@example.com\n"
       "Date: Sun, 22 Nov 2026 23:45:00 +0100\n\r\nFrom: body\r\n"},
      {"folded Subject replaced",
       "Subject: a\r\n b\r\nFrom: me\r\nDate: d\r\n\r\nx", "join",
       "From: me\r\nDate: d\r\nSubject: subscribe\n\r\nx"},
  });
}

TEST(ListMessage, TheEnvelopeSenderAsGiven) {
  EXPECT_EQ(list_message("\nb", "x@y", "D", "post"), "From: x@y\nDate: D\n\nb");
}

}  // namespace
}  // namespace smtpd
