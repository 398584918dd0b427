// The bytes of a checkpoint's state: every kind of value comes back as it
// went in, a random stream goes on with the very draws it would have made,
// and a state cut short or of the wrong shape is refused, never half-read.
#include <gtest/gtest.h>

#include <vector>

#include "distclip/core/record.hpp"
#include "distclip/core/state_io.hpp"

namespace distclip {
namespace {

TEST(StateIo, ValuesComeBackInOrder) {
  Rng rng = make_stream(7, StreamPurpose::kTest, 0);
  rng.discard(1234);  // mid-stream, not at a seed
  Vector x(3);
  x << 1.0, -0.0, std::numeric_limits<double>::infinity();
  const std::vector<TransportCost> costs = {{1, 2, 0.5}, {3, 4, 1.5}};
  StationarityTracker tracker;
  tracker.add(2.0);
  tracker.add(1.0);

  StateWriter out;
  out.write(std::int64_t{-5});
  out.write(true);
  out.write(x);
  out.write(std::string_view("two\nlines"));
  out.write(rng);
  out.write(costs);
  tracker.save_state(out);
  const std::string bytes = out.take();

  StateReader in(bytes);
  EXPECT_EQ(in.read<std::int64_t>(), -5);
  EXPECT_TRUE(in.read<bool>());
  Vector y(3);
  in.read(y);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(double) * 3), 0);  // bits, -0 included
  std::string text;
  in.read(text);
  EXPECT_EQ(text, "two\nlines");
  Rng restored;
  in.read(restored);
  std::vector<TransportCost> costs_back;
  in.read(costs_back);
  ASSERT_EQ(costs_back.size(), 2u);
  EXPECT_EQ(costs_back[1].bytes_received, 4);
  EXPECT_EQ(costs_back[1].seconds, 1.5);
  StationarityTracker tracker_back;
  tracker_back.restore_state(in);
  in.expect_end();

  for (int k = 0; k < 1000; ++k) ASSERT_EQ(restored(), rng()) << "draw " << k;
  EXPECT_EQ(tracker_back.count(), 2);
  EXPECT_EQ(tracker_back.ergodic(), 1.5);
  EXPECT_EQ(tracker_back.minimum(), 1.0);
  EXPECT_EQ(tracker_back.last(), 1.0);
}

TEST(StateIo, AStateCutShortIsRefused) {
  StateWriter out;
  out.write(Vector::Ones(4).eval());
  const std::string bytes = out.take();
  const std::string cut = bytes.substr(0, bytes.size() - 1);
  StateReader in(cut);
  Vector x(4);
  EXPECT_THROW(in.read(x), StateError);
}

TEST(StateIo, AVectorOfAnotherDimensionIsRefused) {
  StateWriter out;
  out.write(Vector::Ones(4).eval());
  const std::string bytes = out.take();
  StateReader in(bytes);
  Vector x(5);
  EXPECT_THROW(in.read(x), StateError);
}

TEST(StateIo, AListLongerThanTheBytesIsRefusedBeforeAllocating) {
  StateWriter out;
  out.write(std::uint64_t{1} << 60);  // a length no state has
  const std::string bytes = out.take();
  StateReader in(bytes);
  std::vector<double> values;
  EXPECT_THROW(in.read(values), StateError);
  EXPECT_TRUE(values.empty());
}

TEST(StateIo, BytesLeftOverAreAnError) {
  StateWriter out;
  out.write(1.0);
  out.write(2.0);
  const std::string bytes = out.take();
  StateReader in(bytes);
  EXPECT_EQ(in.read<double>(), 1.0);
  EXPECT_THROW(in.expect_end(), StateError);
}

}  // namespace
}  // namespace distclip
