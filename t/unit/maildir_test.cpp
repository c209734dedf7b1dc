// maildir_test.cpp - Maildir names, contents and the delivery's file
// handling (maildir.hpp).
#include "smtpd/maildir.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace smtpd {
namespace {

Envelope envelope_of(std::string data) {
  Envelope envelope;
  envelope.peer = Peer{"192.0.2.7", 4242};
  envelope.mail_from = "a@example.com";
  envelope.rcpt_tos = {"b@example.com", "c@example.org"};
  envelope.data = std::move(data);
  return envelope;
}

TEST(MaildirName, HasEveryPartOfTheConvention) {
  MaildirName name;
  name.seconds = 1733540000;
  name.microseconds = 42;
  name.pid = 4242;
  name.counter = 7;
  name.random = 0xa1b2c3;
  name.host = "mx.example";
  EXPECT_EQ(maildir_file_name(name),
            "1733540000.M000042P4242Q7R00a1b2c3.mx.example");
}

TEST(MaildirName, HostSlashAndColonAreEscaped) {
  MaildirName name;
  name.host = "a/b:c";
  EXPECT_EQ(maildir_file_name(name), "0.M000000P0Q0R00000000.a\\057b\\072c");
  name.host.clear();
  EXPECT_EQ(maildir_file_name(name), "0.M000000P0Q0R00000000.localhost");
}

TEST(MaildirName, DiffersInEachPart) {
  MaildirName base;
  base.host = "h";
  std::vector<MaildirName> others(5, base);
  others[0].seconds = 1;
  others[1].microseconds = 1;
  others[2].pid = 1;
  others[3].counter = 1;
  others[4].random = 1;
  for (const MaildirName& other : others)
    EXPECT_NE(maildir_file_name(other), maildir_file_name(base));
}

TEST(MaildirFile, EnvelopeLinesThenTheMessageWithAFinalLineEnd) {
  EXPECT_EQ(maildir_file(envelope_of("Subject: hi\n\nbody")),
            "Return-Path: <a@example.com>\n"
            "Delivered-To: b@example.com\n"
            "Delivered-To: c@example.org\n"
            "X-Peer: 192.0.2.7\n"
            "Subject: hi\n\nbody\n");
}

TEST(MaildirFile, NullSenderEmptyMessageAndFinalLineEnd) {
  Envelope envelope = envelope_of("");
  envelope.mail_from = "<>";
  envelope.rcpt_tos = {"b@example.com"};
  EXPECT_EQ(maildir_file(envelope),
            "Return-Path: <>\nDelivered-To: b@example.com\n"
            "X-Peer: 192.0.2.7\n");
  envelope.data = "x\n";
  EXPECT_EQ(maildir_trailer(envelope.data), "");
}

TEST(MaildirFile, ControlBytesInValuesCannotMakeHeaderLines) {
  Envelope envelope = envelope_of("x");
  envelope.mail_from = "a\r\nBcc: evil@example.com";
  envelope.rcpt_tos = {"b\n@example.com", "\xC3\xA9@example.com"};
  EXPECT_EQ(maildir_header(envelope),
            "Return-Path: <a??Bcc: evil@example.com>\n"
            "Delivered-To: b?@example.com\n"
            "Delivered-To: \xC3\xA9@example.com\n"
            "X-Peer: 192.0.2.7\n");
}

// A scratch Maildir, removed afterwards.
class MaildirDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/maildir-test.XXXXXX";
    ASSERT_NE(mkdtemp(path), nullptr);
    dir_ = path;
    for (const char* sub : {"/tmp", "/new", "/cur"})
      ASSERT_EQ(mkdir((dir_ + sub).c_str(), 0700), 0);
  }
  void TearDown() override {
    for (const char* sub : {"tmp", "new", "cur"}) {
      for (const std::string& name : files(sub))
        unlink((dir_ + "/" + sub + "/" + name).c_str());
      rmdir((dir_ + "/" + sub).c_str());
    }
    rmdir(dir_.c_str());
  }
  std::vector<std::string> files(const char* sub) const {
    std::vector<std::string> names;
    if (DIR* d = opendir((dir_ + "/" + sub).c_str())) {
      while (const dirent* entry = readdir(d))
        if (entry->d_name[0] != '.') names.push_back(entry->d_name);
      closedir(d);
    }
    return names;
  }
  std::string read(const std::string& path) const {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string dir_;
};

// A delivery that answers what it is told, and counts its calls.
class Answering : public Server {
 public:
  explicit Answering(Reply reply, int* calls) : reply_(reply), calls_(calls) {}
  Reply process_message(const Envelope&) override {
    ++*calls_;
    return reply_;
  }

 private:
  Reply reply_;
  int* calls_;
};

// What a hook is given besides the message: nothing these tests look at.
class NoContext : public Context {
 public:
  const Session& session() const override { return session_; }
  const Envelope& transaction() const override { return transaction_; }
  Later later() override { return Later(nullptr); }

 private:
  Session session_;
  Envelope transaction_;
};

// The message hook's answer in smtpd.py's terms: nothing for 250 OK.
Reply deliver(MaildirDelivery& delivery, const Envelope& message) {
  NoContext context;
  const smtpd::Answer answer = delivery.handle_data(context, message);
  if (answer.kind() == smtpd::Answer::Kind::accept) return std::nullopt;
  return answer.line();
}

TEST_F(MaildirDir, AcceptedMessagesAreKeptInNewEachUnderItsOwnName) {
  MaildirDelivery delivery(dir_, nullptr, nullptr);
  EXPECT_EQ(deliver(delivery, envelope_of("one")), std::nullopt);
  EXPECT_EQ(deliver(delivery, envelope_of("two")), std::nullopt);
  const std::vector<std::string> kept = files("new");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_NE(kept[0], kept[1]);
  EXPECT_TRUE(files("tmp").empty());
  std::string both =
      read(dir_ + "/new/" + kept[0]) + read(dir_ + "/new/" + kept[1]);
  EXPECT_NE(both.find("X-Peer: 192.0.2.7\none\n"), std::string::npos);
  EXPECT_NE(both.find("X-Peer: 192.0.2.7\ntwo\n"), std::string::npos);
}

TEST_F(MaildirDir, ARefusalOfTheWrappedDeliveryKeepsNothing) {
  int calls = 0;
  MaildirDelivery delivery(dir_, std::make_unique<Answering>("550 no", &calls),
                           nullptr);
  EXPECT_EQ(deliver(delivery, envelope_of("x")), "550 no");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(files("new").empty());
  EXPECT_TRUE(files("tmp").empty());
}

TEST_F(MaildirDir, TheWrappedDeliverysAcceptanceIsPassedOn) {
  int calls = 0;
  MaildirDelivery delivery(
      dir_, std::make_unique<Answering>("250 queued", &calls), nullptr);
  EXPECT_EQ(deliver(delivery, envelope_of("x")), "250 queued");
  EXPECT_EQ(files("new").size(), 1u);
}

TEST_F(MaildirDir, AMissingDirectoryGets451AndALogLineAndNoDelivery) {
  rmdir((dir_ + "/tmp").c_str());
  int calls = 0;
  std::string logged;
  MaildirDelivery delivery(dir_,
                           std::make_unique<Answering>(std::nullopt, &calls),
                           [&](std::string_view line) { logged += line; });
  EXPECT_EQ(deliver(delivery, envelope_of("x")),
            "451 Error: cannot keep the message, try again later");
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(files("new").empty());
  EXPECT_EQ(logged.rfind("maildir " + dir_ + ": tmp/", 0), 0u) << logged;
  EXPECT_NE(logged.find("No such file or directory"), std::string::npos);
  mkdir((dir_ + "/tmp").c_str(), 0700);
}

TEST_F(MaildirDir, AMissingNewGets451AndLeavesNothingInTmp) {
  rmdir((dir_ + "/new").c_str());
  std::string logged;
  MaildirDelivery delivery(dir_, nullptr,
                           [&](std::string_view line) { logged += line; });
  EXPECT_EQ(deliver(delivery, envelope_of("x")),
            "451 Error: cannot keep the message, try again later");
  EXPECT_TRUE(files("tmp").empty());
  EXPECT_NE(logged.find(": new/"), std::string::npos) << logged;
  mkdir((dir_ + "/new").c_str(), 0700);
}

}  // namespace
}  // namespace smtpd
