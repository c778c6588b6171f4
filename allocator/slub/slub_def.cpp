#include "allocator/slub/slub_def.hpp"

namespace slabsim::alloc {

void SlabList::push_front(Slab* s) {
  s->prev = nullptr;
  s->next = head_;
  if (head_)
    head_->prev = s;
  else
    tail_ = s;
  head_ = s;
  ++size_;
}

void SlabList::push_back(Slab* s) {
  s->next = nullptr;
  s->prev = tail_;
  if (tail_)
    tail_->next = s;
  else
    head_ = s;
  tail_ = s;
  ++size_;
}

void SlabList::remove(Slab* s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    head_ = s->next;
  if (s->next)
    s->next->prev = s->prev;
  else
    tail_ = s->prev;
  s->prev = s->next = nullptr;
  --size_;
}

void SlabList::splice_front(SlabList& other) {
  if (other.empty()) return;
  other.tail_->next = head_;
  if (head_)
    head_->prev = other.tail_;
  else
    tail_ = other.tail_;
  head_ = other.head_;
  size_ += other.size_;
  other.head_ = other.tail_ = nullptr;
  other.size_ = 0;
}

std::uint64_t KmemCache::stat_total(StatItem item) const {
  std::uint64_t sum = 0;
  for (const auto& c : cpu_slab)
    sum += c.stat[item];
  return sum;
}

}  // namespace slabsim::alloc
