// The test runner's entry point; each test_*.cpp file holds one suite.
#define BOOST_TEST_MODULE xgrad
#include <boost/test/unit_test.hpp>
