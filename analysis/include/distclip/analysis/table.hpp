// Tables of results: aligned plain text for people, CSV for pandas
// (pandas.read_csv loads it in one line).
#pragma once

#include <string>
#include <vector>

namespace distclip {

class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // A row of as many cells as the header has columns.
  void add_row(std::vector<std::string> row);
  std::size_t rows() const { return rows_.size(); }

  // Columns padded to their widest cell, text left-aligned and numbers
  // right-aligned, a rule under the header.
  std::string to_text() const;
  // RFC 4180: cells with a comma, quote or line break are quoted.
  std::string to_csv() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace distclip
