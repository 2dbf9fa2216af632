//===- TestMain.cpp - gtest main, plus the child modes tests spawn --------===//
#include <gtest/gtest.h>

#include <cstring>
#include <string>

int runCacheWriterChild(const std::string &dir, int id);

int main(int argc, char **argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--hyprt-child") == 0) {
    if (argc == 5 && std::strcmp(argv[2], "cache-writer") == 0)
      return runCacheWriterChild(argv[3], std::atoi(argv[4]));
    fprintf(stderr, "unknown child mode\n");
    return 64;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
