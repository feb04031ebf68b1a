// Reads the attributes of one ONNX node from the JSON text GE gives an ONNX plugin.
//
// With ParseParamsByOperatorFn, GE serialises the node's repeated AttributeProto field into the
// string attribute "attribute" of the source operator:
//   {"attribute": [{"name": "kernel_h", "type": 2, "i": 3}, {"name": "offset_scale", "type": 1, "f": 1.0}, ...]}
// Depending on the CANN version "type" is a number or its enum name and "f" a number or a string
// ("%g" text). GE leaves out a scalar field whose value is 0, so an attribute without "i"/"f"
// holds 0. CANN ships no JSON library for plugins, hence this small reader of our own: a
// complete JSON parser (objects, arrays, strings with escapes, numbers, literals) that keeps
// numbers as text so 64-bit integers are read exactly.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dcnv3_onnx {

// One ONNX attribute's scalar value as GE wrote it. `int_value`/`float_value` are 0 when GE
// omitted the field. `type` is AttributeProto.AttributeType's name ("INT", "FLOAT", ...), or ""
// when GE left it out.
struct OnnxAttribute {
  std::string type;
  int64_t int_value = 0;
  double float_value = 0.0;
};

namespace json_detail {

struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  std::string text;  // number text, or string contents
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  const Value* Member(const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
};

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  // Parses the whole text as one JSON value; returns "" or what is wrong and where.
  std::string Parse(Value* out) {
    if (!ParseValue(out, 0)) return error_;
    SkipSpace();
    if (pos_ != s_.size()) return Fail("unexpected text after the JSON value");
    return "";
  }

 private:
  static constexpr int kMaxDepth = 64;

  std::string Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(pos_);
    return error_;
  }
  bool FailB(const std::string& what) {
    Fail(what);
    return false;
  }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool ParseValue(Value* v, int depth) {
    if (depth > kMaxDepth) return FailB("JSON nested too deeply");
    SkipSpace();
    if (pos_ >= s_.size()) return FailB("unexpected end of JSON");
    const char c = s_[pos_];
    if (c == '{') return ParseObject(v, depth);
    if (c == '[') return ParseArray(v, depth);
    if (c == '"') {
      v->kind = Value::kString;
      return ParseString(&v->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(v);
    for (const char* word : {"true", "false", "null"}) {
      const std::string w(word);
      if (s_.compare(pos_, w.size(), w) == 0) {
        pos_ += w.size();
        v->kind = w == "null" ? Value::kNull : Value::kBool;
        v->text = w;
        return true;
      }
    }
    return FailB(std::string("unexpected character '") + c + "'");
  }

  bool ParseObject(Value* v, int depth) {
    v->kind = Value::kObject;
    ++pos_;  // '{'
    if (Consume('}')) return true;
    do {
      SkipSpace();
      std::string key;
      if (pos_ >= s_.size() || s_[pos_] != '"') return FailB("expected a member name");
      if (!ParseString(&key)) return false;
      if (!Consume(':')) return FailB("expected ':'");
      Value member;
      if (!ParseValue(&member, depth + 1)) return false;
      v->members.emplace_back(std::move(key), std::move(member));
    } while (Consume(','));
    return Consume('}') || FailB("expected ',' or '}'");
  }

  bool ParseArray(Value* v, int depth) {
    v->kind = Value::kArray;
    ++pos_;  // '['
    if (Consume(']')) return true;
    do {
      Value item;
      if (!ParseValue(&item, depth + 1)) return false;
      v->items.push_back(std::move(item));
    } while (Consume(','));
    return Consume(']') || FailB("expected ',' or ']'");
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return FailB("truncated \\u escape");
          // Exactly four hex digits (strtoul would also take a sign, spaces or fewer digits).
          unsigned cp = 0;
          for (int i = 0; i < 4; ++i, ++pos_) {
            const char h = s_[pos_];
            const int digit = h >= '0' && h <= '9'   ? h - '0'
                              : h >= 'a' && h <= 'f' ? h - 'a' + 10
                              : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                     : -1;
            if (digit < 0) return FailB("\\u escape needs four hex digits");
            cp = cp * 16 + static_cast<unsigned>(digit);
          }
          // Attribute names are ASCII; other code points are kept as UTF-8 without pairing surrogates.
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: return FailB(std::string("bad escape '\\") + e + "'");
      }
    }
    return FailB("unterminated string");
  }

  bool ParseNumber(Value* v) {
    const size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (!digits()) return FailB("bad number");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return FailB("bad number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return FailB("bad number");
    }
    v->kind = Value::kNumber;
    v->text = s_.substr(start, pos_ - start);
    return true;
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::string error_;
};

// AttributeProto.AttributeType as a name, whether GE wrote the enum's number or its name.
inline std::string TypeName(const Value& v) {
  static const char* const kNames[] = {
      "UNDEFINED", "FLOAT",   "INT",    "STRING",        "TENSOR",         "GRAPH",      "FLOATS",     "INTS",
      "STRINGS",   "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
  if (v.kind == Value::kString) return v.text;
  if (v.kind == Value::kNumber) {
    const long n = std::strtol(v.text.c_str(), nullptr, 10);
    if (n >= 0 && n < static_cast<long>(sizeof(kNames) / sizeof(kNames[0]))) return kNames[n];
  }
  return "type " + v.text;
}

// Reads an integer field ("i"), written as a JSON integer.
inline std::string ReadInt(const Value& v, const std::string& name, int64_t* out) {
  if (v.kind != Value::kNumber || v.text.find_first_of(".eE") != std::string::npos)
    return "attribute '" + name + "': \"i\" must be an integer, got '" + v.text + "'";
  errno = 0;
  *out = std::strtoll(v.text.c_str(), nullptr, 10);
  if (errno == ERANGE) return "attribute '" + name + "': \"i\" is out of the int64 range: " + v.text;
  return "";
}

// Reads a float field ("f"), written as a JSON number or as its decimal text.
inline std::string ReadFloat(const Value& v, const std::string& name, double* out) {
  if (v.kind != Value::kNumber && v.kind != Value::kString) return "attribute '" + name + "': \"f\" must be a number";
  char* end = nullptr;
  *out = std::strtod(v.text.c_str(), &end);
  if (v.text.empty() || *end != '\0') return "attribute '" + name + "': \"f\" is not a number: '" + v.text + "'";
  return "";
}

}  // namespace json_detail

// Parses GE's attribute JSON into name -> value. Returns "" or a message saying what is wrong.
inline std::string ParseOnnxAttributes(const std::string& text, std::map<std::string, OnnxAttribute>* out) {
  using json_detail::Value;
  Value root;
  std::string error = json_detail::Parser(text).Parse(&root);
  if (!error.empty()) return "attribute JSON is malformed: " + error;
  const Value* list = root.kind == Value::kObject ? root.Member("attribute") : nullptr;
  if (list == nullptr || list->kind != Value::kArray)
    return "attribute JSON must be an object with an \"attribute\" array";
  for (const Value& item : list->items) {
    const Value* name = item.Member("name");
    if (item.kind != Value::kObject || name == nullptr || name->kind != Value::kString)
      return "every entry of \"attribute\" must be an object with a string \"name\"";
    OnnxAttribute attr;
    if (const Value* type = item.Member("type")) attr.type = json_detail::TypeName(*type);
    if (const Value* i = item.Member("i")) {
      if (!(error = json_detail::ReadInt(*i, name->text, &attr.int_value)).empty()) return error;
    }
    if (const Value* f = item.Member("f")) {
      if (!(error = json_detail::ReadFloat(*f, name->text, &attr.float_value)).empty()) return error;
    }
    (*out)[name->text] = attr;
  }
  return "";
}

}  // namespace dcnv3_onnx
