// Result tables: aligned text and CSV that survives commas and quotes.
#include <gtest/gtest.h>

#include "distclip/analysis/table.hpp"

namespace distclip {
namespace {

TEST(Table, AlignsTextAndRightAlignsNumbers) {
  Table table({"algorithm", "steps"});
  table.add_row({"celgc", "12"});
  table.add_row({"naive-parallel-clip", "1234"});
  EXPECT_EQ(table.to_text(),
            "algorithm            steps\n"
            "--------------------------\n"
            "celgc                   12\n"
            "naive-parallel-clip   1234\n");
}

TEST(Table, QuotesCsvCellsThatNeedIt) {
  Table table({"name", "note"});
  table.add_row({"a", "x, y"});
  table.add_row({"b", "say \"hi\""});
  EXPECT_EQ(table.to_csv(), "name,note\na,\"x, y\"\nb,\"say \"\"hi\"\"\"\n");
}

TEST(Table, RejectsRowsOfTheWrongLength) {
  Table table({"a", "b"});
  EXPECT_THROW(table.add_row({"1"}), std::invalid_argument);
}

}  // namespace
}  // namespace distclip
