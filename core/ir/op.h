// The op table: one enum of the ONNX ops quantplay knows, its name table, and lookup by name.
#pragma once

#include <string>

namespace qp {

#define QP_OP_LIST(X)                                                                                     \
  X(Abs) X(Add) X(And) X(ArgMax) X(AveragePool) X(BatchNormalization) X(Cast) X(CastLike) X(Ceil) X(Clip) X(Concat)  \
  X(Constant) X(ConstantOfShape) X(Conv) X(ConvTranspose) X(DepthToSpace) X(DequantizeLinear) X(Div)     \
  X(Dropout) X(Elu) X(Equal) X(Erf) X(Exp) X(Expand) X(Flatten) X(Floor) X(Gather) X(Gelu) X(Gemm)       \
  X(GlobalAveragePool) X(GlobalMaxPool) X(Greater) X(HardSigmoid) X(HardSwish) X(Identity)               \
  X(InstanceNormalization) X(LayerNormalization) X(LeakyRelu) X(Less) X(Log) X(LogSoftmax) X(MatMul)     \
  X(Max) X(MaxPool) X(Mean) X(Min) X(Mul) X(Neg) X(Not) X(Pad) X(Pow) X(PRelu) X(QuantizeLinear)        \
  X(Range) X(Reciprocal) X(ReduceL2) X(ReduceMax) X(ReduceMean) X(ReduceMin) X(ReduceSum) X(Relu)        \
  X(Reshape) X(Resize) X(Shape) X(Sigmoid) X(Size) X(Slice) X(Softmax) X(Softplus) X(SpaceToDepth)       \
  X(Split) X(Sqrt) X(Squeeze) X(Sub) X(Sum) X(Tanh) X(Tile) X(Transpose) X(Unsqueeze) X(Upsample)        \
  X(Where)

enum class Op : int {
#define QP_OP_ENUM(name) k##name,
  QP_OP_LIST(QP_OP_ENUM)
#undef QP_OP_ENUM
  kUnsupported,  // an op the table does not hold: kept in the graph, listed to the user
};

constexpr int kOpCount = static_cast<int>(Op::kUnsupported);

// Op for an ONNX op type in the default domain ("" or "ai.onnx"); kUnsupported otherwise.
Op op_from_name(const std::string& domain, const std::string& op_type);
const char* op_name(Op op);

}  // namespace qp
