// tls_test.cpp - TlsContext and TlsSession (tls.hpp): a real OpenSSL
// client and our server session, both ends in memory, bytes carried by
// hand between them.
#include "smtpd/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "tls_client.hpp"

namespace smtpd {
namespace {

using State = TlsSession::State;

using testing::Client;
using testing::client_context;
using testing::ClientContext;

// Carries bytes both ways until neither side has anything to say (at
// most `rounds` exchanges); `chunk` bytes at a time to the server.
void pump(Client& client, TlsSession& server, std::size_t chunk = 1 << 20,
          int rounds = 50) {
  for (int i = 0; i < rounds; ++i) {
    client.handshake();
    const std::string to_server = client.take_output();
    for (std::size_t at = 0; at < to_server.size(); at += chunk)
      server.feed(std::string_view(to_server).substr(at, chunk));
    const std::string to_client(server.output());
    server.consume_output(to_client.size());
    client.give(to_client);
    if (to_server.empty() && to_client.empty()) return;
  }
}

std::shared_ptr<const TlsContext> self_signed() {
  static const auto context = TlsContext::self_signed("mx.example.org");
  return context;
}

X509* certificate_of(const TlsContext& context) {
  return SSL_CTX_get0_certificate(context.native());
}

std::string subject_cn(X509* certificate) {
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName,
                            cn, sizeof cn);
  return cn;
}

// The subjectAltName entries as "DNS:name" / "IP:a.b.c.d".
std::string alt_names(X509* certificate) {
  GENERAL_NAMES* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  std::string out;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      out += "DNS:" + std::string(reinterpret_cast<const char*>(
                                      ASN1_STRING_get0_data(name->d.dNSName)),
                                  ASN1_STRING_length(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      const unsigned char* ip = ASN1_STRING_get0_data(name->d.iPAddress);
      out += "IP:";
      for (int j = 0; j < ASN1_STRING_length(name->d.iPAddress); ++j)
        out += (j ? "." : "") + std::to_string(ip[j]);
    }
    out += ";";
  }
  GENERAL_NAMES_free(names);
  return out;
}

// --- handshakes
// ----------------------------------------------------------------

TEST(Tls, HandshakeVerifiedAgainstTheHostNameThenDataBothWays) {
  ClientContext context(client_context());
  Client client(context.get(), certificate_of(*self_signed()),
                "mx.example.org");
  TlsSession server(self_signed());
  EXPECT_EQ(server.state(), State::handshaking);
  EXPECT_EQ(server.protocol(), "");
  pump(client, server);
  ASSERT_EQ(server.state(), State::open) << server.error();
  ASSERT_TRUE(client.handshake());
  EXPECT_EQ(SSL_get_verify_result(client.ssl()), X509_V_OK);
  EXPECT_EQ(server.protocol(), "TLSv1.3");
  EXPECT_EQ(server.cipher(), SSL_get_cipher_name(client.ssl()));
  EXPECT_NE(server.cipher(), "");

  client.write("EHLO client.example\r\n");
  pump(client, server);
  EXPECT_EQ(server.plaintext(), "EHLO client.example\r\n");
  server.consume_plaintext(5);
  EXPECT_EQ(server.plaintext(), "client.example\r\n");

  server.write("250-mx.example.org\r\n");
  server.write("250 AUTH PLAIN LOGIN\r\n");
  pump(client, server);
  EXPECT_EQ(client.read(), "250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n");
  EXPECT_TRUE(server.output().empty());
}

TEST(Tls, AnotherHostNameDoesNotVerify) {
  ClientContext context(client_context());
  Client client(context.get(), certificate_of(*self_signed()),
                "other.example.org");
  TlsSession server(self_signed());
  pump(client, server);
  EXPECT_FALSE(client.handshake());
  EXPECT_EQ(SSL_get_verify_result(client.ssl()), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST(Tls, ByteByByte) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server, 1);
  ASSERT_EQ(server.state(), State::open) << server.error();
  client.write("QUIT\r\n");
  pump(client, server, 1);
  EXPECT_EQ(server.plaintext(), "QUIT\r\n");
}

TEST(Tls, Tls12WithAStrongCipher) {
  ClientContext context(client_context());
  SSL_CTX_set_max_proto_version(context.get(), TLS1_2_VERSION);
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server);
  ASSERT_EQ(server.state(), State::open) << server.error();
  EXPECT_EQ(server.protocol(), "TLSv1.2");
  EXPECT_EQ(server.cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST(Tls, WrittenBeforeTheHandshakeIsSentAfterIt) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  // implicit TLS: the greeting is ready before the client's hello.
  server.write("220 mx.example.org ESMTP\r\n");
  EXPECT_TRUE(server.output().empty());
  pump(client, server);
  ASSERT_EQ(server.state(), State::open) << server.error();
  EXPECT_EQ(client.read(), "220 mx.example.org ESMTP\r\n");
}

TEST(Tls, AMegabyteFromTheClient) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server);
  std::string message;
  for (int i = 0; message.size() < 1000000; ++i)
    message += "line " + std::to_string(i) + " of the message\r\n";
  client.write(message);
  pump(client, server, 65536);
  EXPECT_EQ(server.plaintext(), message);
}

TEST(Tls, CloseNotifyBothWays) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server);
  ASSERT_EQ(server.state(), State::open);
  SSL_shutdown(client.ssl());
  pump(client, server);
  EXPECT_EQ(server.state(), State::closed);
  EXPECT_EQ(client.read(), "");
  EXPECT_EQ(SSL_get_shutdown(client.ssl()) & SSL_RECEIVED_SHUTDOWN,
            SSL_RECEIVED_SHUTDOWN);
  // Nothing more goes either way.
  server.feed("more");
  server.write("250 OK\r\n");
  EXPECT_TRUE(server.output().empty());
}

TEST(Tls, ServerClose) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server);
  server.write("221 Bye\r\n");
  server.close();
  EXPECT_EQ(server.state(), State::closed);
  pump(client, server);
  EXPECT_EQ(client.read(), "221 Bye\r\n");
  EXPECT_EQ(SSL_get_error(client.ssl(), 0), SSL_ERROR_ZERO_RETURN);
}

// --- failures
// ------------------------------------------------------------------

TEST(Tls, PlainSmtpInsteadOfAHandshakeFails) {
  TlsSession server(self_signed());
  server.feed("EHLO client.example\r\n");
  EXPECT_EQ(server.state(), State::failed);
  EXPECT_NE(server.error().find("wrong version number"), std::string::npos)
      << server.error();
  EXPECT_TRUE(server.plaintext().empty());
}

TEST(Tls, GarbageFails) {
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x00\x05hello", 10), std::string(64, '\0'),
        std::string("\x16\x03\x03\xff\xff", 5) + std::string(20000, 'A')}) {
    TlsSession server(self_signed());
    server.feed(garbage);
    EXPECT_EQ(server.state(), State::failed) << garbage.size();
    EXPECT_FALSE(server.error().empty());
  }
}

TEST(Tls, Tls11OnlyClientFails) {
  ClientContext context(client_context());
  // Debian's defaults would not even send a TLS 1.1 hello.
  SSL_CTX_set_security_level(context.get(), 0);
  SSL_CTX_set_cipher_list(context.get(), "DEFAULT:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(context.get(), TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(context.get(), TLS1_1_VERSION);
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server);
  EXPECT_EQ(server.state(), State::failed);
  EXPECT_NE(server.error().find("unsupported protocol"), std::string::npos)
      << server.error();
  EXPECT_FALSE(client.handshake());
}

TEST(Tls, WeakCiphersOnlyClientFails) {
  for (const char* ciphers :
       {"AES128-SHA", "ECDHE-ECDSA-AES128-SHA", "DHE-RSA-AES128-SHA"}) {
    ClientContext context(client_context());
    SSL_CTX_set_security_level(context.get(), 0);
    SSL_CTX_set_max_proto_version(context.get(), TLS1_2_VERSION);
    ASSERT_EQ(SSL_CTX_set_cipher_list(context.get(), ciphers), 1) << ciphers;
    Client client(context.get());
    TlsSession server(self_signed());
    pump(client, server);
    EXPECT_EQ(server.state(), State::failed) << ciphers;
    EXPECT_NE(server.error().find("no shared cipher"), std::string::npos)
        << ciphers << ": " << server.error();
  }
}

TEST(Tls, ClientGoneDuringTheHandshake) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  client.handshake();
  server.feed(client.take_output());
  EXPECT_EQ(server.state(), State::handshaking);
  server.end_of_input();
  EXPECT_EQ(server.state(), State::failed);
  EXPECT_NE(server.error(), "");
}

TEST(Tls, ConnectionClosedWithoutCloseNotify) {
  ClientContext context(client_context());
  Client client(context.get());
  TlsSession server(self_signed());
  pump(client, server);
  server.end_of_input();
  EXPECT_EQ(server.state(), State::closed);
}

// --- contexts
// ------------------------------------------------------------------

TEST(TlsContext, SelfSignedNamesTheHost) {
  X509* certificate = certificate_of(*self_signed());
  EXPECT_EQ(subject_cn(certificate), "mx.example.org");
  EXPECT_EQ(alt_names(certificate), "DNS:mx.example.org;");
  EXPECT_EQ(X509_check_host(certificate, "mx.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_get_signature_nid(certificate), NID_ecdsa_with_SHA256);
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  char group[64];
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_purpose(certificate, X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_ca(certificate), 0);
  // Valid now.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(certificate)), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(certificate)), 0);
}

TEST(TlsContext, SelfSignedForAnAddress) {
  const auto context = TlsContext::self_signed("192.0.2.7");
  EXPECT_EQ(alt_names(certificate_of(*context)), "IP:192.0.2.7;");
  EXPECT_EQ(subject_cn(certificate_of(*context)), "192.0.2.7");
}

TEST(TlsContext, EachSelfSignedHasItsOwnKeyAndSerial) {
  const auto a = TlsContext::self_signed("a.example");
  const auto b = TlsContext::self_signed("a.example");
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(certificate_of(*a)),
                             X509_get0_serialNumber(certificate_of(*b))),
            0);
  EXPECT_NE(EVP_PKEY_eq(X509_get0_pubkey(certificate_of(*a)),
                        X509_get0_pubkey(certificate_of(*b))),
            1);
}

TEST(TlsContext, SelfSignedRefusesHostNamesThatAreNot) {
  for (const std::string& name :
       {std::string(), std::string("a\nb"), std::string("a,CN=evil"),
        std::string("a\0b", 3), std::string(300, 'a')})
    EXPECT_THROW(TlsContext::self_signed(name), TlsError) << name;
}

class TlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tls-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  // The certificate and key of a context, as PEM files.
  void write_pem(const TlsContext& context, const std::string& cert,
                 const std::string& key) {
    FILE* c = fopen(cert.c_str(), "w");
    PEM_write_X509(c, certificate_of(context));
    fclose(c);
    FILE* k = fopen(key.c_str(), "w");
    PEM_write_PrivateKey(k, SSL_CTX_get0_privatekey(context.native()), nullptr,
                         nullptr, 0, nullptr, nullptr);
    fclose(k);
  }
  std::string dir_;
};

TEST_F(TlsFiles, LoadsACertificateAndKey) {
  const auto made = TlsContext::self_signed("files.example");
  write_pem(*made, dir_ + "/cert.pem", dir_ + "/key.pem");
  const auto loaded =
      TlsContext::from_files(dir_ + "/cert.pem", dir_ + "/key.pem");
  ClientContext context(client_context());
  Client client(context.get(), certificate_of(*made), "files.example");
  TlsSession server(loaded);
  pump(client, server);
  EXPECT_EQ(server.state(), State::open) << server.error();
  EXPECT_TRUE(client.handshake());
}

TEST_F(TlsFiles, OneLineErrorsNamingTheFile) {
  const auto a = TlsContext::self_signed("a.example");
  const auto b = TlsContext::self_signed("b.example");
  write_pem(*a, dir_ + "/a.pem", dir_ + "/a.key");
  write_pem(*b, dir_ + "/b.pem", dir_ + "/b.key");
  std::ofstream(dir_ + "/junk.pem") << "not a certificate\n";
  struct Case {
    std::string cert, key, message;
  };
  const Case cases[] = {
      {dir_ + "/missing.pem", dir_ + "/a.key",
       "cannot load the TLS certificate " + dir_ + "/missing.pem: "},
      {dir_ + "/junk.pem", dir_ + "/a.key",
       "cannot load the TLS certificate " + dir_ + "/junk.pem: "},
      {dir_ + "/a.pem", dir_ + "/missing.key",
       "cannot load the TLS key " + dir_ + "/missing.key: "},
      {dir_ + "/a.pem", dir_ + "/a.pem",
       "cannot load the TLS key " + dir_ + "/a.pem: "},
      // OpenSSL finds the mismatch as it loads the key.
      {dir_ + "/a.pem", dir_ + "/b.key",
       "cannot load the TLS key " + dir_ + "/b.key: "},
  };
  for (const Case& c : cases) {
    try {
      TlsContext::from_files(c.cert, c.key);
      ADD_FAILURE() << c.cert << " " << c.key << " loaded";
    } catch (const TlsError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.substr(0, c.message.size()), c.message) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace smtpd
