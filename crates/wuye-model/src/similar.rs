//! Text similarity for duplicate hints, made for Chinese: the Dice coefficient over
//! character bigrams (Chinese has no spaces to split words on, and two-character pairs carry
//! most of the meaning of short complaints).

use std::collections::HashMap;

/// Letters and digits only, lower-cased: punctuation and spacing do not make texts differ.
fn normalise(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn bigrams(chars: &[char]) -> HashMap<(char, char), u32> {
    let mut m = HashMap::new();
    for w in chars.windows(2) {
        *m.entry((w[0], w[1])).or_insert(0) += 1;
    }
    if chars.len() == 1 {
        m.insert((chars[0], '\0'), 1);
    }
    m
}

/// Similarity in per mille: 2·|A∩B| ÷ (|A| + |B|) over the multisets of character bigrams.
/// 1000 for the same text, 0 when nothing is shared (or either text is empty).
pub fn similarity_permille(a: &str, b: &str) -> u32 {
    let (a, b) = (bigrams(&normalise(a)), bigrams(&normalise(b)));
    let total: u32 = a.values().sum::<u32>() + b.values().sum::<u32>();
    if total == 0 {
        return 0;
    }
    let shared: u32 = a
        .iter()
        .map(|(k, n)| (*n).min(b.get(k).copied().unwrap_or(0)))
        .sum();
    (2 * shared * 1000 + total / 2) / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_chinese_complaints() {
        assert_eq!(similarity_permille("3号楼电梯坏了", "3号楼电梯坏了！"), 1000);
        // Same lift, told differently.
        assert!(similarity_permille("3号楼电梯坏了，困人", "3号楼的电梯又坏了") >= 500);
        // Different problems in the same building.
        assert!(similarity_permille("3号楼电梯坏了", "3号楼门口垃圾没人清理") < 300);
        assert_eq!(similarity_permille("", "电梯"), 0);
        assert_eq!(similarity_permille("灯", "灯"), 1000);
        // Symmetric.
        assert_eq!(
            similarity_permille("楼道灯不亮", "楼道的灯坏了"),
            similarity_permille("楼道的灯坏了", "楼道灯不亮")
        );
    }
}
