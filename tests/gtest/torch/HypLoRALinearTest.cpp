//===- HypLoRALinearTest.cpp - the C++ module against a float64 formula ---===//
//
// The module runs the hyplora ops (CPU reference here, CUDA on the GPU
// machine); the oracle is HYPLORA.md section 3 transcribed with LibTorch ops
// in float64, differentiated by autograd. Inputs are fresh random numbers.
//
//===----------------------------------------------------------------------===//
#include "hyplora/AdapterOps.h"
#include "hyplora/HypLoRALinear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

namespace {

double relErr(const torch::Tensor &got, const torch::Tensor &ref) {
  auto g = got.to(torch::kDouble).cpu(), r = ref.to(torch::kDouble).cpu();
  double denom = r.norm().item<double>();
  return denom == 0 ? g.norm().item<double>() : (g - r).norm().item<double>() / denom;
}

/// HYPLORA.md section 3, reference convention, op by op (float64 oracle).
torch::Tensor referenceAdapted(const torch::Tensor &x, const torch::Tensor &W,
                               const torch::Tensor &b, const torch::Tensor &A,
                               const torch::Tensor &B, const torch::Tensor &k,
                               const torch::Tensor &s, double scaling) {
  auto n = x.norm(2, {-1}, true).clamp_min(1e-7);
  auto K = torch::softplus(k) + 1e-6;
  auto S = torch::sqrt(K);
  auto a = torch::clamp_max(n / s / S, 12.0);
  auto xs = S * torch::sinh(a) * (x / n);
  auto u = torch::matmul(torch::matmul(xs, A.t()), B.t());
  auto t = torch::sqrt(u.pow(2).sum(-1, true) + 1.0 / K.clamp_min(1e-6));
  auto un = u.norm(2, {-1}, true).clamp_min(1e-7);
  auto th = t / S;
  auto ac = torch::where(th < 1.01, torch::sqrt(2.0 * (th - 1.0).clamp_min(1e-6)),
                         torch::acosh(th.clamp_min(1.0 + 1e-7)));
  return torch::linear(x, W, b) + scaling * (S * ac * u / un);
}

unsigned freshSeed() { return std::random_device{}(); }

class HypLoRALinearTest : public ::testing::Test {
protected:
  void SetUp() override {
    seed_ = freshSeed();
    torch::manual_seed(seed_);
    RecordProperty("seed", std::to_string(seed_));
  }
  unsigned seed_ = 0;
};

TEST_F(HypLoRALinearTest, InitFollowsTheReference) {
  torch::nn::Linear base(torch::nn::LinearOptions(64, 32));
  hyplora::HypLoRALinear m(base, hyplora::HypLoRALinearOptions(8, 16).curvature(0.5));
  EXPECT_EQ(m->lora_A.sizes(), (std::vector<int64_t>{8, 64}));
  EXPECT_EQ(m->lora_B.sizes(), (std::vector<int64_t>{32, 8}));
  EXPECT_EQ(m->lora_B.count_nonzero().item<int64_t>(), 0);
  const double bound = 1.0 / std::sqrt(64.0);
  EXPECT_LE(m->lora_A.abs().max().item<double>(), bound);
  EXPECT_GT(m->lora_A.abs().max().item<double>(), 0.5 * bound);
  EXPECT_FLOAT_EQ(m->lora_k.item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(m->lora_norm_scale.item<float>(), 8.0f);
  EXPECT_DOUBLE_EQ(m->scaling(), 2.0);
  EXPECT_FALSE(base->weight.requires_grad());
  // Trainable: exactly the four adapter tensors.
  std::vector<std::string> trainable;
  for (const auto &p : m->named_parameters())
    if (p.value().requires_grad())
      trainable.push_back(p.key());
  EXPECT_EQ(trainable, (std::vector<std::string>{"lora_A", "lora_B", "lora_k", "lora_norm_scale"}))
      << "seed " << seed_;
  auto x = torch::randn({5, 64});
  EXPECT_TRUE(torch::equal(m->forward(x), base->forward(x))); // B = 0
}

TEST_F(HypLoRALinearTest, ForwardAndGradientsMatchFloat64Formula) {
  torch::nn::Linear base(torch::nn::LinearOptions(40, 24));
  hyplora::HypLoRALinear m(base, hyplora::HypLoRALinearOptions(8, 16));
  m->to(torch::kDouble);
  {
    torch::NoGradGuard g;
    m->lora_B.normal_();
  }
  auto scales = torch::logspace(-2, 1.2, 33, 10.0, torch::kDouble).reshape({33, 1});
  auto x = (torch::randn({33, 40}, torch::kDouble) * scales).reshape({3, 11, 40});
  x.set_requires_grad(true);
  auto y = m->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 11, 24}));
  auto gy = torch::randn_like(y);
  (y * gy).sum().backward();

  auto xr = x.detach().clone().set_requires_grad(true);
  auto A = m->lora_A.detach().clone().set_requires_grad(true);
  auto B = m->lora_B.detach().clone().set_requires_grad(true);
  auto k = m->lora_k.detach().clone().set_requires_grad(true);
  auto s = m->lora_norm_scale.detach().clone().set_requires_grad(true);
  auto yr = referenceAdapted(xr, base->weight, base->bias, A, B, k, s, m->scaling());
  (yr * gy).sum().backward();
  EXPECT_LT(relErr(y, yr), 1e-9) << "seed " << seed_;
  EXPECT_LT(relErr(x.grad(), xr.grad()), 1e-9) << "seed " << seed_;
  EXPECT_LT(relErr(m->lora_A.grad(), A.grad()), 1e-9) << "seed " << seed_;
  EXPECT_LT(relErr(m->lora_B.grad(), B.grad()), 1e-9) << "seed " << seed_;
  EXPECT_LT(relErr(m->lora_norm_scale.grad(), s.grad()), 1e-7) << "seed " << seed_;
  // The raw-curvature gradient is clipped to [-0.01, 0.01].
  EXPECT_NEAR(m->lora_k.grad().item<double>(), k.grad().clamp(-0.01, 0.01).item<double>(), 1e-9)
      << "seed " << seed_;
}

TEST_F(HypLoRALinearTest, DropoutOnlyTouchesTheAdapterInput) {
  torch::nn::Linear base(torch::nn::LinearOptions(16, 8));
  hyplora::HypLoRALinear m(base, hyplora::HypLoRALinearOptions(4, 8).dropout(0.5));
  m->train();
  auto x = torch::randn({6, 16});
  // B = 0: whatever dropout does to the adapter input, the output is the
  // base layer on the undropped x.
  EXPECT_TRUE(torch::allclose(m->forward(x), base->forward(x)));
  {
    torch::NoGradGuard g;
    m->lora_B.normal_();
  }
  auto y1 = m->forward(x), y2 = m->forward(x);
  EXPECT_FALSE(torch::allclose(y1, y2)) << "dropout masks should differ between calls";
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(x), m->forward(x)));
}

TEST_F(HypLoRALinearTest, PlainLoraVariantLearnsOnlyAB) {
  torch::nn::Linear base(torch::nn::LinearOptions(12, 6));
  hyplora::HypLoRALinear m(base, hyplora::HypLoRALinearOptions(3, 6).variant("lora"));
  {
    torch::NoGradGuard g;
    m->lora_B.normal_();
  }
  auto x = torch::randn({4, 12}, torch::kFloat);
  auto y = m->forward(x);
  auto want = base->forward(x) + m->scaling() * torch::matmul(torch::matmul(x, m->lora_A.t()),
                                                            m->lora_B.t());
  EXPECT_LT(relErr(y, want), 1e-5);
  EXPECT_EQ(m->parameters().size(), 2u + 0u + 2u); // base weight, bias, A, B
}

TEST_F(HypLoRALinearTest, BadInputsGiveClearErrors) {
  torch::nn::Linear base(torch::nn::LinearOptions(8, 4));
  hyplora::HypLoRALinear m(base, hyplora::HypLoRALinearOptions(2, 4));
  try {
    m->forward(torch::randn({3, 7}));
    FAIL() << "expected an error for the wrong input width";
  } catch (const c10::Error &e) {
    EXPECT_NE(std::string(e.what()).find("last dimension must be 8"), std::string::npos);
  }
  EXPECT_THROW(hyplora::HypLoRALinear(base, hyplora::HypLoRALinearOptions(0, 4)), c10::Error);
  EXPECT_THROW(hyplora::HypLoRALinear(base, hyplora::HypLoRALinearOptions(2, 4).variant("x")),
               c10::Error);
  // The op itself refuses a non-finite curvature.
  try {
    auto x = torch::randn({2, 8});
    hyplora::adapterForward(x, x, base->weight, std::nullopt, m->lora_A, m->lora_B,
                            torch::full({}, NAN), m->lora_norm_scale, 1.0, "hyplora",
                            "reference", 12.0);
    FAIL() << "expected an error for a NaN curvature";
  } catch (const c10::Error &e) {
    EXPECT_NE(std::string(e.what()).find("lora_k is not finite"), std::string::npos);
  }
}

TEST_F(HypLoRALinearTest, CudaMatchesCpu) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device: runs on the GPU machine";
  torch::nn::Linear base(torch::nn::LinearOptions(96, 48));
  hyplora::HypLoRALinear cpu(base, hyplora::HypLoRALinearOptions(16, 32));
  {
    torch::NoGradGuard g;
    cpu->lora_B.normal_();
  }
  auto x = torch::randn({64, 96});
  auto yc = cpu->forward(x);
  yc.pow(2).sum().backward();
  auto gA = cpu->lora_A.grad().clone();
  for (auto &p : cpu->parameters())
    p.mutable_grad() = torch::Tensor();
  cpu->to(torch::kCUDA);
  auto yg = cpu->forward(x.cuda());
  yg.pow(2).sum().backward();
  EXPECT_LT(relErr(yg, yc), 3e-4);
  EXPECT_LT(relErr(cpu->lora_A.grad(), gA), 1e-3);
}

} // namespace
