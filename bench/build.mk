# bench/build.mk - the benchmark's own programs, built by bench/run:
#
#   make -f bench/build.mk SRC=<source tree> OUT=<build dir>/bench
#
# floor        the floor of the per-connection model (bench/floor.c), linked
#              as a minimal C program is: cc -O2, libc shared
# rsswrap      records a per-connection server's peak RSS and page faults
#              (static, so that the pages a fork copies from it are few)
# channel_bench  Google Benchmark of the channel alone, built from the
#              library's sources: g++ -O2 -I lib lib/smtpd/*.cpp -ldl
#              -lssl -lcrypto -lbenchmark -lpthread (objects kept, so
#              reruns only relink)
# tls_bench    Google Benchmark of lib/smtpd/tls.* (bench/tls_bench.cpp):
#              a self-signed context, an in-memory handshake, records, and a
#              whole SMTP session through the connection core, plain and
#              with STARTTLS
SRC ?= .
OUT ?= build-bench/bench
CC ?= cc
CXX ?= g++
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
BENCH_CXXFLAGS = -std=c++17 -O2 -I$(SRC)/lib $(CURL_CFLAGS)

LIB_SOURCES := $(wildcard $(SRC)/lib/smtpd/*.cpp)
CHANNEL_OBJECTS := $(patsubst $(SRC)/%.cpp,$(OUT)/obj/%.o,\
	$(LIB_SOURCES) $(SRC)/bench/channel_bench.cpp)
TLS_OBJECTS := $(patsubst $(SRC)/%.cpp,$(OUT)/obj/%.o,\
	$(LIB_SOURCES) $(SRC)/bench/tls_bench.cpp)
OPENSSL_LIBS := $(shell pkg-config --libs libssl libcrypto 2>/dev/null || echo -lssl -lcrypto)

.PHONY: all programs
all: programs $(OUT)/channel_bench $(OUT)/tls_bench
programs: $(OUT)/floor $(OUT)/rsswrap

$(OUT)/floor: $(SRC)/bench/floor.c
	@mkdir -p $(@D)
	$(CC) -O2 -o $@ $<

$(OUT)/rsswrap: $(SRC)/bench/rsswrap.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -o $@ $< 2>/dev/null || $(CC) -O2 -o $@ $<

$(OUT)/channel_bench: $(CHANNEL_OBJECTS)
	$(CXX) -o $@ $^ -ldl $(OPENSSL_LIBS) -lbenchmark -lpthread

$(OUT)/tls_bench: $(TLS_OBJECTS)
	$(CXX) -o $@ $^ -ldl $(OPENSSL_LIBS) -lbenchmark -lpthread

$(OUT)/obj/%.o: $(SRC)/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CXXFLAGS) -MMD -MP -c -o $@ $<

-include $(CHANNEL_OBJECTS:.o=.d) $(OUT)/obj/bench/tls_bench.d
